//! The recorder owner: what the run measures and writes as it goes. The flow figures
//! (all requests, per route, per destination service), the calls at each policy point,
//! work and goodput, the current time-series window, the streaming CSV writers
//! (time series, transitions, events, alerts, autoscaling), the route-window callback,
//! the tracer, and the locality figures.
//!
//! **Invariant:** the recorder only records: nothing in it decides what the simulation
//! does next, and no random draw comes from it (the tracer's sampling has its own
//! streams). The measured figures (`total`, `routes`, `point_calls`, `work_ns`...) count
//! only what started after the warm-up; the window figures count everything.

use super::{GATEWAY_SITE, RouteWindowFn, RunError, TIMESERIES_HEADER, TRANSITIONS_HEADER, window};
use crate::metrics::{CallStats, FlowStats};
use crate::model::{Caller, Scenario, ServiceId};
use crate::result::{LocalityStats, PolicyPoint};
use crate::time::SimTime;
use std::io::Write;

pub(super) struct Recorder<'h> {
    pub(super) total: FlowStats,
    pub(super) routes: Vec<FlowStats>,
    pub(super) services: Vec<FlowStats>,
    /// Each proxy's policy point, and the points in order (gateway first, then callers
    /// and destinations by id).
    pub(super) proxy_point: Vec<u32>,
    pub(super) points: Vec<PolicyPoint>,
    /// Per policy point: calls as their callers see them, after retries, over the measured
    /// run and over the current window.
    pub(super) point_calls: Vec<CallStats>,
    pub(super) point_window: Vec<CallStats>,
    /// Work (service time) of finished jobs and its goodput part (see `RunResult`): measured, and
    /// over the current window (all jobs).
    pub(super) work_ns: u128,
    pub(super) goodput_ns: u128,
    pub(super) window_work_ns: u128,
    pub(super) window_goodput_ns: u128,
    pub(super) window_end: SimTime,
    pub(super) window_start: SimTime,
    pub(super) timeseries: Option<csv::Writer<&'h mut dyn Write>>,
    /// The cells of a time-series row, reused row after row; each policy point's name.
    pub(super) row: window::Row,
    pub(super) point_names: Vec<String>,
    pub(super) route_windows: Option<&'h mut RouteWindowFn<'h>>,
    pub(super) transitions: Option<csv::Writer<&'h mut dyn Write>>,
    /// The first error writing transitions, reported when the run ends.
    pub(super) deferred_error: Option<csv::Error>,
    pub(super) events_csv: Option<csv::Writer<&'h mut dyn Write>>,
    /// Where alert changes and autoscaler evaluations go.
    pub(super) alerts_csv: Option<csv::Writer<&'h mut dyn Write>>,
    pub(super) autoscaling_csv: Option<csv::Writer<&'h mut dyn Write>>,
    /// Spans of sampled requests, when the run writes traces.
    pub(super) tracer: Option<crate::trace::Tracer<'h>>,
    /// Requests and jobs holding a span: while there are none, no new attempt has a
    /// traced maker.
    pub(super) span_owners: u32,
    /// Attempts by locality, when the scenario reports it.
    pub(super) locality_stats: Option<LocalityStats>,
    /// Responses that reached a caller after it had given up.
    pub(super) late_responses: u64,
}

impl<'h> Recorder<'h> {
    /// The recorder of a run whose proxies are `proxy_site` (each one's calling site and
    /// destination); the time-series, transitions and events writers get their headers.
    ///
    /// # Errors
    /// When writing a header fails.
    pub(super) fn new(
        sc: &Scenario,
        proxy_site: &[(u32, ServiceId)],
        timeseries: Option<&'h mut dyn Write>,
        transitions: Option<&'h mut dyn Write>,
        events: Option<&'h mut dyn Write>,
    ) -> Result<Recorder<'h>, RunError> {
        // Rows after the header come as one pre-quoted field each (`window::Row`).
        let mut timeseries = timeseries
            .map(|w| csv::WriterBuilder::new().quote_style(csv::QuoteStyle::Never).flexible(true).from_writer(w));
        if let Some(w) = timeseries.as_mut() {
            w.write_record(TIMESERIES_HEADER)?;
        }
        let mut transitions = transitions.map(|w| csv::WriterBuilder::new().from_writer(w));
        if let Some(w) = transitions.as_mut() {
            w.write_record(TRANSITIONS_HEADER)?;
        }
        let caller_of = |site: u32| {
            if site as usize == GATEWAY_SITE {
                Caller::Gateway
            } else {
                Caller::Service(sc.instances[site as usize - 1].service)
            }
        };
        let mut points: Vec<PolicyPoint> = proxy_site
            .iter()
            .map(|&(site, destination)| PolicyPoint { caller: caller_of(site), destination })
            .collect();
        points.sort();
        points.dedup();
        let proxy_point = proxy_site
            .iter()
            .map(|&(site, destination)| {
                let point = PolicyPoint { caller: caller_of(site), destination };
                points.binary_search(&point).expect("every proxy's point is listed") as u32
            })
            .collect();
        let mut events_csv = events.map(|w| csv::WriterBuilder::new().from_writer(w));
        if let Some(w) = events_csv.as_mut() {
            w.write_record(super::EVENTS_HEADER)?;
        }
        Ok(Recorder {
            total: FlowStats::default(),
            routes: vec![FlowStats::default(); sc.gateway.routes.len()],
            services: vec![FlowStats::default(); sc.services.len()],
            proxy_point,
            point_calls: vec![CallStats::default(); points.len()],
            point_window: vec![CallStats::default(); points.len()],
            point_names: points.iter().map(|p| p.name(sc)).collect(),
            points,
            work_ns: 0,
            goodput_ns: 0,
            window_work_ns: 0,
            window_goodput_ns: 0,
            window_start: SimTime::ZERO,
            window_end: SimTime::ZERO + sc.metrics_interval,
            timeseries,
            row: window::Row::default(),
            route_windows: None,
            transitions,
            deferred_error: None,
            events_csv,
            alerts_csv: None,
            autoscaling_csv: None,
            tracer: None,
            span_owners: 0,
            locality_stats: super::locality::enabled(sc).then(|| LocalityStats::new(sc.zones.len())),
            late_responses: 0,
        })
    }

    /// Counts something about a call at its proxy's policy point: in the window, and in
    /// the run's figures if the call is measured.
    #[inline(always)]
    pub(super) fn count_call(&mut self, proxy: u32, measured: bool, f: impl Fn(&mut CallStats)) {
        let i = self.proxy_point[proxy as usize] as usize;
        f(&mut self.point_window[i]);
        if measured {
            f(&mut self.point_calls[i]);
        }
    }
}

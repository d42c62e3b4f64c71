//! `timeseries.csv`, typed by scope: one series per route, service, policy point and
//! instance, each row pointing at its window.

use super::RunDataError;
use super::table::Table;
use crate::output::scope;
use crate::output::timeseries::{HEADER, col};

/// The most time-series windows read for the charts; a longer run's windows are read in
/// groups (see [`TimeSeries::load`]).
pub const WINDOWS_DRAWN_MAX: usize = 500;
use indexmap::IndexMap;

/// One time-series window, in simulated seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub start_s: f64,
    pub end_s: f64,
}

impl Window {
    pub fn mid_s(&self) -> f64 {
        (self.start_s + self.end_s) / 2.0
    }
}

/// What ended in a window, by outcome.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Outcomes {
    pub requests: u64,
    pub ok: u64,
    pub error: u64,
    pub timeout: u64,
    pub rejected: u64,
    pub dropped: u64,
    pub short_circuited: u64,
    pub overloaded: u64,
}

impl Outcomes {
    /// The failed outcomes with their CSV names, in column order.
    pub fn failures(&self) -> [(&'static str, u64); 6] {
        [
            (HEADER[col::ERROR], self.error),
            (HEADER[col::TIMEOUT], self.timeout),
            (HEADER[col::REJECTED], self.rejected),
            (HEADER[col::DROPPED], self.dropped),
            (HEADER[col::SHORT_CIRCUITED], self.short_circuited),
            (HEADER[col::OVERLOADED], self.overloaded),
        ]
    }
}

/// Latency of what ended in a window, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Percentiles {
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

/// A `total` row: the whole mesh in one window.
#[derive(Debug, Clone, PartialEq)]
pub struct TotalRow {
    /// Index into [`TimeSeries::windows`].
    pub window: usize,
    pub outcomes: Outcomes,
    pub throughput_rps: f64,
    /// `None` when nothing ended in the window.
    pub latency: Option<Percentiles>,
    pub work_s: f64,
    pub goodput_work_s: f64,
}

/// A `route` or `service` row.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowRow {
    pub window: usize,
    pub outcomes: Outcomes,
    pub throughput_rps: f64,
    /// `None` when nothing ended in the window.
    pub latency: Option<Percentiles>,
}

/// A `call` row: one policy point in one window.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRow {
    pub window: usize,
    pub outcomes: Outcomes,
    pub attempts: u64,
    pub retries: u64,
    pub retries_denied: u64,
    pub hedges: u64,
    pub fallbacks: u64,
    pub ejections: u64,
    pub breaker_opens: u64,
    /// Breaker units open (or forced open) and half-open at the window's end; `None`
    /// where the point has no breaker.
    pub breakers_open: Option<u64>,
    pub breakers_half_open: Option<u64>,
    /// Attempts per call; `None` when no call ended in the window.
    pub retry_amplification: Option<f64>,
}

/// An `instance` row: one instance as a queueing station in one window.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceRow {
    pub window: usize,
    pub outcomes: Outcomes,
    /// Busy workers over workers available (`None`: an empty cell).
    pub utilization: Option<f64>,
    /// Time-average queue length, in jobs.
    pub queue_mean: Option<f64>,
    pub in_system_mean: Option<f64>,
}

/// `timeseries.csv`: the windows, and per scope and name the rows in window order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TimeSeries {
    pub windows: Vec<Window>,
    pub total: Vec<TotalRow>,
    pub routes: IndexMap<String, Vec<FlowRow>>,
    pub services: IndexMap<String, Vec<FlowRow>>,
    pub calls: IndexMap<String, Vec<CallRow>>,
    pub instances: IndexMap<String, Vec<InstanceRow>>,
}

impl TimeSeries {
    /// The end of the last window (0 without windows).
    pub fn end_s(&self) -> f64 {
        self.windows.last().map_or(0.0, |w| w.end_s)
    }

    /// Reads `timeseries.csv` row by row. A run of more than [`WINDOWS_DRAWN_MAX`]
    /// windows is read in groups of `k` consecutive windows (the fewest that fit), so
    /// that memory and the charts' points stay bounded however long the run: counts add
    /// up, rates and time-averages are averaged over the group, mean latency and retry
    /// amplification are weighted by requests, and latency percentiles, maxima and open
    /// breakers take the group's highest value.
    pub(super) fn load(path: &std::path::Path) -> Result<TimeSeries, RunDataError> {
        let mut windows = 0usize;
        let mut last: Option<(String, String)> = None;
        Table::for_each_row(
            path,
            |t| t.columns(&HEADER, [col::WINDOW_START_S, col::WINDOW_END_S]),
            |t, &[start, end]| {
                let key = (t.cell(0, start), t.cell(0, end));
                if last.as_ref().is_none_or(|(a, b)| (a.as_str(), b.as_str()) != key) {
                    windows += 1;
                    last = Some((key.0.to_string(), key.1.to_string()));
                }
                Ok(())
            },
        )?;
        let group = windows.div_ceil(WINDOWS_DRAWN_MAX).max(1);
        let mut ts = TimeSeries::default();
        // Per window drawn, how many windows of the file it holds.
        let mut held: Vec<u32> = Vec::new();
        let mut original = 0usize;
        let mut last: Option<(String, String)> = None;
        let mut prev_end = f64::NEG_INFINITY;
        Table::for_each_row(path, Columns::find, |t, c| {
            let r = 0;
            let key = (t.cell(r, c.start), t.cell(r, c.end));
            if last.as_ref().is_none_or(|(a, b)| (a.as_str(), b.as_str()) != key) {
                let w = Window { start_s: t.f64(r, c.start)?, end_s: t.f64(r, c.end)? };
                if w.end_s < w.start_s {
                    return Err(t.bad(r, c.end, "a window end not before its start"));
                }
                if w.start_s < prev_end {
                    return Err(t.bad(r, c.start, "windows in time order, each after the one before"));
                }
                prev_end = w.end_s;
                if original.is_multiple_of(group) {
                    ts.windows.push(w);
                    held.push(1);
                } else {
                    ts.windows.last_mut().expect("a group has its first window").end_s = w.end_s;
                    *held.last_mut().expect("a group has its first window") += 1;
                }
                original += 1;
                last = Some((key.0.to_string(), key.1.to_string()));
            }
            let window = ts.windows.len() - 1;
            let oc = &c.outcomes;
            let outcomes = Outcomes {
                requests: t.u64(r, oc[0])?,
                ok: t.u64(r, oc[1])?,
                error: t.u64(r, oc[2])?,
                timeout: t.u64(r, oc[3])?,
                rejected: t.u64(r, oc[4])?,
                dropped: t.u64(r, oc[5])?,
                short_circuited: t.u64(r, oc[6])?,
                overloaded: t.u64(r, oc[7])?,
            };
            let throughput_rps = t.f64(r, oc[8])?;
            let latency = || -> Result<Option<Percentiles>, RunDataError> {
                if outcomes.requests == 0 {
                    return Ok(None);
                }
                Ok(Some(Percentiles {
                    mean: t.f64(r, c.lat[0])?,
                    p50: t.f64(r, c.lat[1])?,
                    p90: t.f64(r, c.lat[2])?,
                    p95: t.f64(r, c.lat[3])?,
                    p99: t.f64(r, c.lat[4])?,
                    max: t.f64(r, c.lat_max)?,
                }))
            };
            let name = t.cell(r, c.name);
            match t.cell(r, c.scope) {
                scope::TOTAL => {
                    let row = TotalRow {
                        window,
                        outcomes,
                        throughput_rps,
                        latency: latency()?,
                        work_s: t.f64(r, c.work_s)?,
                        goodput_work_s: t.f64(r, c.goodput_work_s)?,
                    };
                    match ts.total.last_mut() {
                        Some(p) if p.window == window => {
                            p.latency =
                                merge_latency(p.latency, p.outcomes.requests, row.latency, row.outcomes.requests);
                            p.outcomes.add(&row.outcomes);
                            p.throughput_rps += row.throughput_rps;
                            p.work_s += row.work_s;
                            p.goodput_work_s += row.goodput_work_s;
                        }
                        _ => ts.total.push(row),
                    }
                }
                s @ (scope::ROUTE | scope::SERVICE) => {
                    let row = FlowRow { window, outcomes, throughput_rps, latency: latency()? };
                    let map = if s == scope::ROUTE { &mut ts.routes } else { &mut ts.services };
                    merge_flow(series_of(map, name), row);
                }
                scope::CALL => {
                    let row = CallRow {
                        window,
                        outcomes,
                        attempts: t.u64(r, c.attempts)?,
                        retries: t.u64(r, c.retries)?,
                        retries_denied: t.u64(r, c.retries_denied)?,
                        hedges: t.u64(r, c.hedges)?,
                        fallbacks: t.u64(r, c.fallbacks)?,
                        ejections: t.u64(r, c.ejections)?,
                        breaker_opens: t.u64(r, c.breaker_opens)?,
                        breakers_open: t.opt_u64(r, c.breakers_open)?,
                        breakers_half_open: t.opt_u64(r, c.breakers_half_open)?,
                        retry_amplification: if outcomes.requests > 0 {
                            Some(t.f64(r, c.amplification)?)
                        } else {
                            None
                        },
                    };
                    let rows = series_of(&mut ts.calls, name);
                    match rows.last_mut() {
                        Some(p) if p.window == window => {
                            p.retry_amplification = weighted(
                                p.retry_amplification,
                                p.outcomes.requests,
                                row.retry_amplification,
                                row.outcomes.requests,
                            );
                            p.outcomes.add(&row.outcomes);
                            p.attempts += row.attempts;
                            p.retries += row.retries;
                            p.retries_denied += row.retries_denied;
                            p.hedges += row.hedges;
                            p.fallbacks += row.fallbacks;
                            p.ejections += row.ejections;
                            p.breaker_opens += row.breaker_opens;
                            p.breakers_open = max_opt(p.breakers_open, row.breakers_open);
                            p.breakers_half_open = max_opt(p.breakers_half_open, row.breakers_half_open);
                        }
                        _ => rows.push(row),
                    }
                }
                scope::INSTANCE => {
                    let row = InstanceRow {
                        window,
                        outcomes,
                        utilization: t.opt_f64(r, c.utilization)?,
                        queue_mean: t.opt_f64(r, c.queue_mean)?,
                        in_system_mean: t.opt_f64(r, c.in_system_mean)?,
                    };
                    let rows = series_of(&mut ts.instances, name);
                    match rows.last_mut() {
                        Some(p) if p.window == window => {
                            p.outcomes.add(&row.outcomes);
                            p.utilization = sum_opt(p.utilization, row.utilization);
                            p.queue_mean = sum_opt(p.queue_mean, row.queue_mean);
                            p.in_system_mean = sum_opt(p.in_system_mean, row.in_system_mean);
                        }
                        _ => rows.push(row),
                    }
                }
                // A scope added later is not drawn, and not an error.
                _ => {}
            }
            Ok(())
        })?;
        if group > 1 {
            // Rates and time-averages: the mean over the windows each group holds.
            let n = |w: usize| f64::from(held[w]);
            for row in &mut ts.total {
                row.throughput_rps /= n(row.window);
            }
            for row in ts.routes.values_mut().chain(ts.services.values_mut()).flatten() {
                row.throughput_rps /= n(row.window);
            }
            for row in ts.instances.values_mut().flatten() {
                let k = n(row.window);
                for x in [&mut row.utilization, &mut row.queue_mean, &mut row.in_system_mean].into_iter().flatten() {
                    *x /= k;
                }
            }
        }
        Ok(ts)
    }
}

/// The columns `timeseries.csv` is read by.
struct Columns {
    start: usize,
    end: usize,
    scope: usize,
    name: usize,
    outcomes: [usize; 9],
    lat: [usize; 5],
    lat_max: usize,
    utilization: usize,
    queue_mean: usize,
    in_system_mean: usize,
    attempts: usize,
    retries: usize,
    retries_denied: usize,
    hedges: usize,
    fallbacks: usize,
    ejections: usize,
    breaker_opens: usize,
    breakers_open: usize,
    breakers_half_open: usize,
    amplification: usize,
    work_s: usize,
    goodput_work_s: usize,
}

impl Columns {
    fn find(t: &Table) -> Result<Columns, RunDataError> {
        let [start, end, scope, name] =
            t.columns(&HEADER, [col::WINDOW_START_S, col::WINDOW_END_S, col::SCOPE, col::NAME])?;
        let outcomes = t.columns(
            &HEADER,
            [
                col::REQUESTS,
                col::OK,
                col::ERROR,
                col::TIMEOUT,
                col::REJECTED,
                col::DROPPED,
                col::SHORT_CIRCUITED,
                col::OVERLOADED,
                col::THROUGHPUT_RPS,
            ],
        )?;
        let lat = t.columns(
            &HEADER,
            [col::LATENCY_MEAN_MS, col::LATENCY_P50_MS, col::LATENCY_P90_MS, col::LATENCY_P95_MS, col::LATENCY_P99_MS],
        )?;
        let [lat_max, utilization, queue_mean, in_system_mean] =
            t.columns(&HEADER, [col::LATENCY_MAX_MS, col::UTILIZATION, col::QUEUE_MEAN, col::IN_SYSTEM_MEAN])?;
        let [attempts, retries, retries_denied, hedges, fallbacks, ejections, breaker_opens] = t.columns(
            &HEADER,
            [
                col::ATTEMPTS,
                col::RETRIES,
                col::RETRIES_DENIED,
                col::HEDGES,
                col::FALLBACKS,
                col::EJECTIONS,
                col::BREAKER_OPENS,
            ],
        )?;
        let [breakers_open, breakers_half_open, amplification, work_s, goodput_work_s] = t.columns(
            &HEADER,
            [col::BREAKERS_OPEN, col::BREAKERS_HALF_OPEN, col::RETRY_AMPLIFICATION, col::WORK_S, col::GOODPUT_WORK_S],
        )?;
        Ok(Columns {
            start,
            end,
            scope,
            name,
            outcomes,
            lat,
            lat_max,
            utilization,
            queue_mean,
            in_system_mean,
            attempts,
            retries,
            retries_denied,
            hedges,
            fallbacks,
            ejections,
            breaker_opens,
            breakers_open,
            breakers_half_open,
            amplification,
            work_s,
            goodput_work_s,
        })
    }
}

impl Outcomes {
    fn add(&mut self, o: &Outcomes) {
        self.requests += o.requests;
        self.ok += o.ok;
        self.error += o.error;
        self.timeout += o.timeout;
        self.rejected += o.rejected;
        self.dropped += o.dropped;
        self.short_circuited += o.short_circuited;
        self.overloaded += o.overloaded;
    }
}

/// The rows of the series `name`, made empty on first use.
fn series_of<'m, T>(map: &'m mut IndexMap<String, Vec<T>>, name: &str) -> &'m mut Vec<T> {
    if !map.contains_key(name) {
        map.insert(name.to_string(), Vec::new());
    }
    map.get_mut(name).expect("the series was just made")
}

/// A flow row joins the last one if both are in the same window drawn.
fn merge_flow(rows: &mut Vec<FlowRow>, row: FlowRow) {
    match rows.last_mut() {
        Some(p) if p.window == row.window => {
            p.latency = merge_latency(p.latency, p.outcomes.requests, row.latency, row.outcomes.requests);
            p.outcomes.add(&row.outcomes);
            p.throughput_rps += row.throughput_rps;
        }
        _ => rows.push(row),
    }
}

/// Two windows' latencies as one: the mean weighted by requests, the highest percentiles.
fn merge_latency(a: Option<Percentiles>, na: u64, b: Option<Percentiles>, nb: u64) -> Option<Percentiles> {
    match (a, b) {
        (Some(a), Some(b)) => Some(Percentiles {
            mean: (a.mean * na as f64 + b.mean * nb as f64) / (na + nb) as f64,
            p50: a.p50.max(b.p50),
            p90: a.p90.max(b.p90),
            p95: a.p95.max(b.p95),
            p99: a.p99.max(b.p99),
            max: a.max.max(b.max),
        }),
        (a, b) => a.or(b),
    }
}

/// A ratio of two windows as one, weighted by their requests.
fn weighted(a: Option<f64>, na: u64, b: Option<f64>, nb: u64) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some((a * na as f64 + b * nb as f64) / (na + nb) as f64),
        (a, b) => a.or(b),
    }
}

fn max_opt(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

fn sum_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a + b),
        (a, b) => a.or(b),
    }
}

//! `timeseries.csv`, typed by scope: one series per route, service, policy point and
//! instance, each row pointing at its window.

use super::RunDataError;
use super::table::Table;
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
            ("error", self.error),
            ("timeout", self.timeout),
            ("rejected", self.rejected),
            ("dropped", self.dropped),
            ("short_circuited", self.short_circuited),
            ("overloaded", self.overloaded),
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

    pub(super) fn parse(t: &Table) -> Result<TimeSeries, RunDataError> {
        let [start, end, scope, name] = t.columns(["window_start_s", "window_end_s", "scope", "name"])?;
        let oc = t.columns([
            "requests",
            "ok",
            "error",
            "timeout",
            "rejected",
            "dropped",
            "short_circuited",
            "overloaded",
            "throughput_rps",
        ])?;
        let lat =
            t.columns(["latency_mean_ms", "latency_p50_ms", "latency_p90_ms", "latency_p95_ms", "latency_p99_ms"])?;
        let [lat_max, utilization, queue_mean, in_system_mean] =
            t.columns(["latency_max_ms", "utilization", "queue_mean", "in_system_mean"])?;
        let [attempts, retries, retries_denied, hedges, fallbacks, ejections, breaker_opens] =
            t.columns(["attempts", "retries", "retries_denied", "hedges", "fallbacks", "ejections", "breaker_opens"])?;
        let [breakers_open, breakers_half_open, amplification, work_s, goodput_work_s] =
            t.columns(["breakers_open", "breakers_half_open", "retry_amplification", "work_s", "goodput_work_s"])?;

        let mut ts = TimeSeries::default();
        let mut last: Option<(&str, &str)> = None;
        for r in 0..t.rows() {
            let key = (t.cell(r, start), t.cell(r, end));
            if last != Some(key) {
                let w = Window { start_s: t.f64(r, start)?, end_s: t.f64(r, end)? };
                if w.end_s < w.start_s {
                    return Err(t.bad(r, end, "a window end not before its start"));
                }
                if ts.windows.last().is_some_and(|p| w.start_s < p.end_s) {
                    return Err(t.bad(r, start, "windows in time order, each after the one before"));
                }
                ts.windows.push(w);
                last = Some(key);
            }
            let window = ts.windows.len() - 1;
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
                    mean: t.f64(r, lat[0])?,
                    p50: t.f64(r, lat[1])?,
                    p90: t.f64(r, lat[2])?,
                    p95: t.f64(r, lat[3])?,
                    p99: t.f64(r, lat[4])?,
                    max: t.f64(r, lat_max)?,
                }))
            };
            let name = t.cell(r, name).to_string();
            match t.cell(r, scope) {
                "total" => ts.total.push(TotalRow {
                    window,
                    outcomes,
                    throughput_rps,
                    latency: latency()?,
                    work_s: t.f64(r, work_s)?,
                    goodput_work_s: t.f64(r, goodput_work_s)?,
                }),
                "route" => ts.routes.entry(name).or_default().push(FlowRow {
                    window,
                    outcomes,
                    throughput_rps,
                    latency: latency()?,
                }),
                "service" => ts.services.entry(name).or_default().push(FlowRow {
                    window,
                    outcomes,
                    throughput_rps,
                    latency: latency()?,
                }),
                "call" => ts.calls.entry(name).or_default().push(CallRow {
                    window,
                    outcomes,
                    attempts: t.u64(r, attempts)?,
                    retries: t.u64(r, retries)?,
                    retries_denied: t.u64(r, retries_denied)?,
                    hedges: t.u64(r, hedges)?,
                    fallbacks: t.u64(r, fallbacks)?,
                    ejections: t.u64(r, ejections)?,
                    breaker_opens: t.u64(r, breaker_opens)?,
                    breakers_open: t.opt_u64(r, breakers_open)?,
                    breakers_half_open: t.opt_u64(r, breakers_half_open)?,
                    retry_amplification: if outcomes.requests > 0 { Some(t.f64(r, amplification)?) } else { None },
                }),
                "instance" => ts.instances.entry(name).or_default().push(InstanceRow {
                    window,
                    outcomes,
                    utilization: t.opt_f64(r, utilization)?,
                    queue_mean: t.opt_f64(r, queue_mean)?,
                    in_system_mean: t.opt_f64(r, in_system_mean)?,
                }),
                // A scope added later is not drawn, and not an error.
                _ => {}
            }
        }
        Ok(ts)
    }
}

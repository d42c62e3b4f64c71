//! A run folder read back into typed data: the one place that parses `summary.json`,
//! `timeseries.csv`, `transitions.csv` and `events.csv` for the charts and the page.
//!
//! Columns are found by their header names, so a column added later does not disturb the
//! reader; a file that is missing, a column that is missing or a cell that does not parse
//! is a [`RunDataError`] naming the file (and the line and column), never a panic.

mod summary;
mod table;
mod timeseries;

pub use summary::{
    CallPoint, Counts, Deferred, FaultWindow, Flow, Latency, Recovery, Resilience, Service, SloVerdict, Station,
    StopInfo, Summary, Work,
};
pub use timeseries::{
    CallRow, FlowRow, InstanceRow, Outcomes, Percentiles, TimeSeries, TotalRow, WINDOWS_DRAWN_MAX, Window,
};

use crate::output::{self, events, rollout, transitions};
use std::path::{Path, PathBuf};
use table::Table;

/// The files of a run folder that [`RunData::load`] reads (and `rollout.csv` if there).
pub const INPUT_FILES: [&str; 4] = [output::summary::FILE, output::timeseries::FILE, transitions::FILE, events::FILE];

/// Everything a run wrote, typed.
#[derive(Debug, Clone)]
pub struct RunData {
    pub summary: Summary,
    pub series: TimeSeries,
    pub transitions: Vec<Transition>,
    pub events: Vec<LifecycleEvent>,
    /// `rollout.csv`'s rows, if the run had rollouts (the file is optional).
    pub rollout: Vec<RolloutStep>,
}

/// One row of `rollout.csv`: a rollout's analysis tick.
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutStep {
    pub time_s: f64,
    pub rollout: String,
    pub phase: String,
    pub canary_weight: f64,
    pub mirror_pct: f64,
    /// `pass`, `fail`, or empty when the checks did not run.
    pub analysis: String,
    pub success_rate_pct: Option<f64>,
}

/// Why a run folder could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RunDataError {
    /// The cause is the error's `source`, as `anyhow` chains print it.
    #[error("cannot read {path}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Malformed { path: PathBuf, message: String },
}

/// A state in `transitions.csv`: a circuit breaker's, or an outlier detector's verdict
/// on a host (`HEALTHY`, `EJECTED`), which the simulator writes to the same file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardState {
    Closed,
    Open,
    HalfOpen,
    ForcedOpen,
    Disabled,
    MetricsOnly,
    Healthy,
    Ejected,
    /// A state this reader does not know (a later simulator's): shown as written.
    Other(String),
}

impl GuardState {
    fn parse(s: &str) -> GuardState {
        match s {
            "CLOSED" => GuardState::Closed,
            "OPEN" => GuardState::Open,
            "HALF_OPEN" => GuardState::HalfOpen,
            "FORCED_OPEN" => GuardState::ForcedOpen,
            "DISABLED" => GuardState::Disabled,
            "METRICS_ONLY" => GuardState::MetricsOnly,
            "HEALTHY" => GuardState::Healthy,
            "EJECTED" => GuardState::Ejected,
            other => GuardState::Other(other.to_string()),
        }
    }

    /// The name `transitions.csv` uses.
    pub fn name(&self) -> &str {
        match self {
            GuardState::Closed => "CLOSED",
            GuardState::Open => "OPEN",
            GuardState::HalfOpen => "HALF_OPEN",
            GuardState::ForcedOpen => "FORCED_OPEN",
            GuardState::Disabled => "DISABLED",
            GuardState::MetricsOnly => "METRICS_ONLY",
            GuardState::Healthy => "HEALTHY",
            GuardState::Ejected => "EJECTED",
            GuardState::Other(s) => s,
        }
    }

    /// Whether this is an outlier detector's state rather than a breaker's.
    pub fn is_outlier(&self) -> bool {
        matches!(self, GuardState::Healthy | GuardState::Ejected)
    }
}

/// One row of `transitions.csv`: a breaker changed state, or an outlier detector
/// ejected a host or let it back.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub time_s: f64,
    /// The proxy: `gateway` or a caller instance.
    pub caller: String,
    pub destination: String,
    /// `service`, `endpoint` or `instance`.
    pub scope: String,
    /// What the breaker guards.
    pub unit: String,
    pub from: GuardState,
    pub to: GuardState,
    pub cause: String,
}

/// One row of `events.csv`: a lifecycle event of an instance.
#[derive(Debug, Clone, PartialEq)]
pub struct LifecycleEvent {
    pub time_s: f64,
    pub instance: String,
    pub service: String,
    pub event: String,
    pub detail: String,
}

impl RunData {
    /// Reads the run folder `dir` (see [`INPUT_FILES`]).
    ///
    /// # Errors
    /// A file that cannot be read, or whose content is not what `meshsim run` writes.
    pub fn load(dir: &Path) -> Result<RunData, RunDataError> {
        let path = dir.join(output::summary::FILE);
        let summary = summary::parse(&path, &read(&path)?)?;
        let path = dir.join(output::timeseries::FILE);
        let series = TimeSeries::load(&path)?;
        let path = dir.join(transitions::FILE);
        let transitions = parse_transitions(&Table::parse(&path, &read(&path)?)?)?;
        let path = dir.join(events::FILE);
        let events = parse_events(&Table::parse(&path, &read(&path)?)?)?;
        let path = dir.join(rollout::FILE);
        let rollout = if path.exists() { parse_rollout(&Table::parse(&path, &read(&path)?)?)? } else { Vec::new() };
        Ok(RunData { summary, series, transitions, events, rollout })
    }

    /// The service of an instance (`order-0` -> `order`), from `summary.json`.
    pub fn service_of(&self, instance: &str) -> Option<&str> {
        self.summary.instances.get(instance).and_then(|s| s.service.as_deref())
    }

    /// The policy point of a breaker's proxy: `<caller service>-><destination>`, as in
    /// `summary.json`'s `calls` and the `call` rows of `timeseries.csv`.
    pub fn policy_point(&self, t: &Transition) -> String {
        let caller = if t.caller == "gateway" { "gateway" } else { self.service_of(&t.caller).unwrap_or(&t.caller) };
        format!("{caller}->{}", t.destination)
    }
}

fn read(path: &Path) -> Result<Vec<u8>, RunDataError> {
    std::fs::read(path).map_err(|source| RunDataError::Read { path: path.to_path_buf(), source })
}

fn parse_transitions(t: &Table) -> Result<Vec<Transition>, RunDataError> {
    use transitions::col;
    let [time, caller, destination, scope, unit, from, to, cause] = t.columns(
        &transitions::HEADER,
        [col::TIME_S, col::CALLER, col::DESTINATION, col::SCOPE, col::UNIT, col::FROM, col::TO, col::CAUSE],
    )?;
    let state = |row: usize, col: usize| match t.cell(row, col) {
        "" => Err(t.bad(row, col, "a state such as CLOSED, OPEN, HALF_OPEN or EJECTED")),
        s => Ok(GuardState::parse(s)),
    };
    (0..t.rows())
        .map(|r| {
            Ok(Transition {
                time_s: t.f64(r, time)?,
                caller: t.cell(r, caller).to_string(),
                destination: t.cell(r, destination).to_string(),
                scope: t.cell(r, scope).to_string(),
                unit: t.cell(r, unit).to_string(),
                from: state(r, from)?,
                to: state(r, to)?,
                cause: t.cell(r, cause).to_string(),
            })
        })
        .collect()
}

fn parse_rollout(t: &Table) -> Result<Vec<RolloutStep>, RunDataError> {
    use rollout::col;
    let [time, name, phase, canary, mirror, analysis, success] = t.columns(
        &rollout::HEADER,
        [
            col::TIME_S,
            col::ROLLOUT,
            col::PHASE,
            col::CANARY_WEIGHT,
            col::MIRROR_PCT,
            col::ANALYSIS,
            col::SUCCESS_RATE_PCT,
        ],
    )?;
    (0..t.rows())
        .map(|r| {
            Ok(RolloutStep {
                time_s: t.f64(r, time)?,
                rollout: t.cell(r, name).to_string(),
                phase: t.cell(r, phase).to_string(),
                canary_weight: t.f64(r, canary)?,
                mirror_pct: t.f64(r, mirror)?,
                analysis: t.cell(r, analysis).to_string(),
                success_rate_pct: t.opt_f64(r, success)?,
            })
        })
        .collect()
}

fn parse_events(t: &Table) -> Result<Vec<LifecycleEvent>, RunDataError> {
    use events::col;
    let [time, instance, service, event, detail] =
        t.columns(&events::HEADER, [col::TIME_S, col::INSTANCE, col::SERVICE, col::EVENT, col::DETAIL])?;
    (0..t.rows())
        .map(|r| {
            Ok(LifecycleEvent {
                time_s: t.f64(r, time)?,
                instance: t.cell(r, instance).to_string(),
                service: t.cell(r, service).to_string(),
                event: t.cell(r, event).to_string(),
                detail: t.cell(r, detail).to_string(),
            })
        })
        .collect()
}

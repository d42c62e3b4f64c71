//! The schema of every output file: its name and, for a CSV, its columns.
//!
//! A CSV is declared with `csv_file!` as one table of `CONSTANT = "column name"` lines
//! in file order; from it come the file's module with `FILE` (its name), `HEADER` (the
//! header row) and `col::CONSTANT` (each column's index in the header and in every row).
//! Writers write `HEADER` and put cells at `col::` indices; readers find a column by
//! `HEADER[col::CONSTANT]` in the header they read, so a reader still reads a file
//! with a column added. No other code spells a file's or a column's name.

/// Declares a CSV file: `name = "file.csv" { CONSTANT = "column", ... }` makes `pub mod
/// name` with `FILE`, `HEADER` and `col::CONSTANT`, the indices counted by the compiler
/// (an enum's discriminants) so that they cannot drift from the header's order.
macro_rules! csv_file {
    ($(#[$doc:meta])* $module:ident = $file:literal { $($column:ident = $name:literal),+ $(,)? }) => {
        $(#[$doc])*
        pub mod $module {
            /// The file's name in its folder.
            pub const FILE: &str = $file;

            /// The header row: every column's name, in file order.
            pub const HEADER: [&str; [$($name),+].len()] = [$($name),+];

            /// Each column's index in [`HEADER`] and in every row.
            pub mod col {
                #[allow(non_camel_case_types, clippy::upper_case_acronyms, dead_code)]
                #[repr(usize)]
                enum Index {
                    $($column),+
                }
                $(
                    #[doc = concat!("`", $name, "`")]
                    pub const $column: usize = Index::$column as usize;
                )+
            }
        }
    };
}

// --- The run folder (`meshsim run`, and each kept run of a sweep) ---

/// `summary.json`: the whole run's figures (built by `report::summary`, read back by
/// `rundata` and the sweep's records).
pub mod summary {
    pub const FILE: &str = "summary.json";
}

csv_file! {
    /// `timeseries.csv`: one row per window and scope (`total`, `route`, `service`,
    /// `call`, `instance`) and name; cells a scope does not have are empty.
    timeseries = "timeseries.csv" {
        WINDOW_START_S = "window_start_s",
        WINDOW_END_S = "window_end_s",
        SCOPE = "scope",
        NAME = "name",
        REQUESTS = "requests",
        OK = "ok",
        ERROR = "error",
        TIMEOUT = "timeout",
        REJECTED = "rejected",
        DROPPED = "dropped",
        SHORT_CIRCUITED = "short_circuited",
        OVERLOADED = "overloaded",
        THROUGHPUT_RPS = "throughput_rps",
        LATENCY_MEAN_MS = "latency_mean_ms",
        LATENCY_P50_MS = "latency_p50_ms",
        LATENCY_P90_MS = "latency_p90_ms",
        LATENCY_P95_MS = "latency_p95_ms",
        LATENCY_P99_MS = "latency_p99_ms",
        LATENCY_MAX_MS = "latency_max_ms",
        UTILIZATION = "utilization",
        QUEUE_MEAN = "queue_mean",
        IN_SYSTEM_MEAN = "in_system_mean",
        ATTEMPTS = "attempts",
        RETRIES = "retries",
        RETRIES_DENIED = "retries_denied",
        HEDGES = "hedges",
        HEDGES_WON = "hedges_won",
        FALLBACKS = "fallbacks",
        DEFERRED = "deferred",
        EJECTIONS = "ejections",
        BREAKER_OPENS = "breaker_opens",
        BREAKERS_OPEN = "breakers_open",
        BREAKERS_HALF_OPEN = "breakers_half_open",
        RETRY_AMPLIFICATION = "retry_amplification",
        WORK_S = "work_s",
        GOODPUT_WORK_S = "goodput_work_s",
        INSTANCES_UP = "instances_up",
        REGISTRY_LISTED = "registry_listed",
        VIEW_MEAN = "view_mean",
    }
}

/// The values of `timeseries.csv`'s `scope` column.
pub mod scope {
    pub const TOTAL: &str = "total";
    pub const ROUTE: &str = "route";
    pub const SERVICE: &str = "service";
    /// A policy point (caller -> destination).
    pub const CALL: &str = "call";
    pub const INSTANCE: &str = "instance";
}

csv_file! {
    /// `transitions.csv`: a circuit breaker changed state, or an outlier detector
    /// ejected a host or let it back.
    transitions = "transitions.csv" {
        TIME_S = "time_s",
        CALLER = "caller",
        DESTINATION = "destination",
        SCOPE = "scope",
        UNIT = "unit",
        FROM = "from",
        TO = "to",
        CAUSE = "cause",
    }
}

csv_file! {
    /// `events.csv`: the lifecycle events of instances.
    events = "events.csv" {
        TIME_S = "time_s",
        INSTANCE = "instance",
        SERVICE = "service",
        EVENT = "event",
        DETAIL = "detail",
    }
}

csv_file! {
    /// `alerts.csv`: every change of an alerting rule's state.
    alerts = "alerts.csv" {
        TIME_S = "time_s",
        ALERT = "alert",
        STATE = "state",
        VALUE = "value",
        EXPR = "expr",
    }
}

csv_file! {
    /// `autoscaling.csv`: one row per evaluation of an autoscaler (written only for
    /// scenarios with one).
    autoscaling = "autoscaling.csv" {
        TIME_S = "time_s",
        SERVICE = "service",
        REPLICAS = "replicas",
        RECOMMENDED = "recommended",
        DESIRED = "desired",
        READY = "ready",
        UNREADY = "unready",
        METRIC = "metric",
        REASON = "reason",
    }
}

csv_file! {
    /// `locality.csv`: per window and caller zone with any attempt, where the attempts
    /// went (written only for scenarios with clusters).
    locality = "locality.csv" {
        WINDOW_START_S = "window_start_s",
        ZONE = "zone",
        CLUSTER = "cluster",
        IN_ZONE = "in_zone",
        IN_CLUSTER = "in_cluster",
        CROSS_CLUSTER = "cross_cluster",
    }
}

csv_file! {
    /// `rollout.csv`: one row per analysis tick of each rollout (written only for
    /// scenarios with rollouts).
    rollout = "rollout.csv" {
        TIME_S = "time_s",
        ROLLOUT = "rollout",
        PHASE = "phase",
        PRIMARY_WEIGHT = "primary_weight",
        CANARY_WEIGHT = "canary_weight",
        MIRROR_PCT = "mirror_pct",
        FAILED_CHECKS = "failed_checks",
        ANALYSIS = "analysis",
        SUCCESS_RATE_PCT = "success_rate_pct",
        LATENCY_MS = "latency_ms",
        EVENT = "event",
    }
}

csv_file! {
    /// `stats.csv`: Locust's `--csv` stats file, its header exactly as Locust writes it.
    stats = "stats.csv" {
        TYPE = "Type",
        NAME = "Name",
        REQUEST_COUNT = "Request Count",
        FAILURE_COUNT = "Failure Count",
        MEDIAN_RESPONSE_TIME = "Median Response Time",
        AVERAGE_RESPONSE_TIME = "Average Response Time",
        MIN_RESPONSE_TIME = "Min Response Time",
        MAX_RESPONSE_TIME = "Max Response Time",
        AVERAGE_CONTENT_SIZE = "Average Content Size",
        REQUESTS_PER_S = "Requests/s",
        FAILURES_PER_S = "Failures/s",
        P50 = "50%",
        P66 = "66%",
        P75 = "75%",
        P80 = "80%",
        P90 = "90%",
        P95 = "95%",
        P98 = "98%",
        P99 = "99%",
        P99_9 = "99.9%",
        P99_99 = "99.99%",
        P100 = "100%",
    }
}

/// `metrics.prom`: the Prometheus text format.
pub mod prom {
    pub const FILE: &str = "metrics.prom";
}

/// `latency.hlog`: an HdrHistogram interval log, per route and window.
pub mod hlog {
    pub const FILE: &str = "latency.hlog";
}

/// `traces.otlp.jsonl`: the sampled traces as OTLP JSON, one line per batch.
pub mod otlp {
    pub const FILE: &str = "traces.otlp.jsonl";
}

/// `trace.json`: the sampled traces in Chrome's trace event format.
pub mod chrome_trace {
    pub const FILE: &str = "trace.json";
}

/// `report.html`: the page with the charts (`html`).
pub mod report_html {
    pub const FILE: &str = "report.html";
}

// --- The sweep folder (`meshsim sweep`, `meshsim merge`) ---

/// The files and folders of a sweep.
pub mod sweep {
    /// The sweep's definition.
    pub const DEFINITION: &str = "sweep.json";
    /// `sweep.csv`: one row per point (its columns depend on the sweep: see [`table`]).
    pub const TABLE: &str = "sweep.csv";
    /// The folder of the run records, one `<point>-r<replication>.json` per run.
    pub const RECORDS: &str = "records";
    /// The folder of the kept runs' folders, `runs/<point>/r<replication>/`.
    pub const RUNS: &str = "runs";
    /// The folder of the sweep's charts.
    pub const CHARTS: &str = "charts";

    /// The name of a run's record in [`RECORDS`].
    pub fn record(point: &str, replication: u32) -> String {
        format!("{point}-r{replication}.json")
    }

    /// The name of a kept run's folder in `runs/<point>/`.
    pub fn run(replication: u32) -> String {
        format!("r{replication}")
    }

    /// The columns of `sweep.csv`: `point`, one per parameter (its JSON path), `runs`,
    /// `runs_stopped`, then `<metric>_mean` and `<metric>_ci95` per key metric.
    pub mod table {
        pub const POINT: &str = "point";
        pub const RUNS: &str = "runs";
        pub const RUNS_STOPPED: &str = "runs_stopped";
        pub const MEAN_SUFFIX: &str = "_mean";
        pub const CI95_SUFFIX: &str = "_ci95";
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn column_indices_follow_the_header() {
        use super::timeseries::{HEADER, col};
        assert_eq!(HEADER.len(), 39);
        assert_eq!(HEADER[col::WINDOW_START_S], "window_start_s");
        assert_eq!(HEADER[col::REQUESTS], "requests");
        assert_eq!(HEADER[col::GOODPUT_WORK_S], "goodput_work_s");
        assert_eq!(col::VIEW_MEAN, HEADER.len() - 1);
        assert_eq!(super::transitions::HEADER[super::transitions::col::CAUSE], "cause");
        assert_eq!(super::stats::HEADER[super::stats::col::P100], "100%");
    }

    #[test]
    fn no_file_repeats_a_column() {
        let headers: [&[&str]; 8] = [
            &super::timeseries::HEADER,
            &super::transitions::HEADER,
            &super::events::HEADER,
            &super::alerts::HEADER,
            &super::autoscaling::HEADER,
            &super::locality::HEADER,
            &super::rollout::HEADER,
            &super::stats::HEADER,
        ];
        for h in headers {
            let mut sorted = h.to_vec();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), h.len(), "{h:?}");
        }
    }
}

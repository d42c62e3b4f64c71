//! What every output file is called, which columns each CSV has, and how files and
//! numbers are written: the one place a file's name or a column's name is spelled.
//!
//! The writers (the loop's recorder, the reports, the formats, the sweep) and the
//! readers (`rundata`, the sweep's merge) both take names and columns from here, so a
//! column renamed or added here changes the writer and the reader together.
//!
//! **Architecture invariant:** a leaf. It imports nothing of the simulator, the reports
//! or the readers (only `time`), so anything may use it and nothing here runs a model.

mod atomic;
mod number;

pub use atomic::{AtomicFile, remove_stale, write_atomic};
pub use number::{fixed, measured_secs, thousands};

mod schema;

pub use schema::{
    alerts, autoscaling, chrome_trace, events, hlog, locality, otlp, prom, report_html, rollout, scope, stats, summary,
    sweep, timeseries, transitions,
};

//! `latency.hlog`: each route's latency, window by window, as an HdrHistogram interval
//! log (the format of Java's `HistogramLogWriter`, read by `HistogramLogProcessor`,
//! HdrHistogram's plotters and the `hdrhistogram` crate's `IntervalLogIterator`).
//!
//! The header has fixed times, never the wall clock: simulated time zero is the epoch, so
//! `StartTime` and `BaseTime` are both `0.000` and each interval's timestamp is its
//! window's start in simulated seconds. Then the legend line, then per window (in time
//! order) and per route (in scenario order) one line
//! `Tag=<route>,<start s>,<length s>,<max>,<histogram>`, the histogram V2-encoded,
//! deflated and base64-encoded (`V2DeflateSerializer`). Values are microseconds, at the
//! time series' two significant digits; `Interval_Max` is in microseconds too (no
//! `MaxValueDivisor`). Every request that ended in the window counts, warm-up included,
//! as in `timeseries.csv`.

use crate::metrics::Latency;
use crate::model::{RouteId, Scenario};
use crate::time::SimTime;
use hdrhistogram::serialization::V2DeflateSerializeError;
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, IntervalLogWriterError, Tag};
use std::io::{self, Write};
use std::time::{Duration, UNIX_EPOCH};

/// The legend line Java's `HistogramLogWriter` writes after the header.
pub const LEGEND: &str = "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"";

#[derive(Debug, thiserror::Error)]
pub enum HlogError {
    #[error("writing latency.hlog failed: {0}")]
    Io(#[from] io::Error),
    #[error("writing a histogram to latency.hlog failed: {0}")]
    Interval(#[from] IntervalLogWriterError<V2DeflateSerializeError>),
}

/// Streams the interval log as windows close; `record` is the `Hooks::route_windows`
/// callback. An error is kept and returned by `finish`, and nothing more is written.
pub struct HlogWriter<'w> {
    out: &'w mut dyn Write,
    serializer: V2DeflateSerializer,
    tags: Vec<String>,
    error: Option<HlogError>,
}

impl<'w> HlogWriter<'w> {
    /// Writes the header: a comment naming the scenario and seed, the format version,
    /// `StartTime` and `BaseTime` (both the simulated epoch, 0) and the legend.
    ///
    /// # Errors
    /// If writing fails.
    pub fn begin(out: &'w mut dyn Write, sc: &Scenario, seed: u64) -> Result<HlogWriter<'w>, HlogError> {
        let mut serializer = V2DeflateSerializer::new();
        IntervalLogWriterBuilder::new()
            .add_comment(&format!(
                "[meshsim latency per route: scenario {}, seed {}; values in microseconds; simulated time]",
                sc.name.replace('\n', " "),
                seed
            ))
            .add_comment("[Histogram log format version 1.3]")
            .with_start_time(UNIX_EPOCH)
            .with_base_time(UNIX_EPOCH)
            .begin_log_with(&mut &mut *out, &mut serializer)?;
        writeln!(out, "{LEGEND}")?;
        let tags = sc.gateway.routes.iter().map(|r| r.name.clone()).collect();
        Ok(HlogWriter { out, serializer, tags, error: None })
    }

    /// Writes route `route`'s histogram of the window from `start` to `end`.
    pub fn record(&mut self, start: SimTime, end: SimTime, route: RouteId, latency: &Latency) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = self.write(start, end, route, latency) {
            self.error = Some(e);
        }
    }

    fn write(&mut self, start: SimTime, end: SimTime, route: RouteId, latency: &Latency) -> Result<(), HlogError> {
        let name = &self.tags[route.idx()];
        // Route names are validated to letters, digits, '-' and '_', which a tag allows.
        let tag = Tag::new(name).expect("a route name is a valid interval-log tag");
        // A writer without headers writes only the interval line.
        IntervalLogWriterBuilder::new().begin_log_with(&mut self.out, &mut self.serializer)?.write_histogram(
            latency.histogram(),
            Duration::from_nanos(start.0),
            Duration::from_nanos(end.since(start).0),
            Some(tag),
        )?;
        Ok(())
    }

    /// Flushes the log and returns the first error, if any.
    ///
    /// # Errors
    /// The first error writing the log.
    pub fn finish(self) -> Result<(), HlogError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        self.out.flush()?;
        Ok(())
    }
}

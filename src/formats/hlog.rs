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
use flate2::{Compress, Compression, FlushCompress, Status};
use hdrhistogram::Counter;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, IntervalLogWriterError, Tag};
use hdrhistogram::serialization::{Serializer, V2SerializeError, V2Serializer};
use std::io::{self, Write};
use std::sync::mpsc::SyncSender;
use std::thread::JoinHandle;
use std::time::{Duration, UNIX_EPOCH};

/// The legend line Java's `HistogramLogWriter` writes after the header.
pub const LEGEND: &str = "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"";

#[derive(Debug, thiserror::Error)]
pub enum HlogError {
    #[error("writing latency.hlog failed: {0}")]
    Io(#[from] io::Error),
    #[error("writing a histogram to latency.hlog failed: {0}")]
    Interval(#[from] IntervalLogWriterError<DeflateError>),
}

/// Why a histogram could not be deflated.
#[derive(Debug, thiserror::Error)]
pub enum DeflateError {
    #[error("{0}")]
    V2(V2SerializeError),
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("{0}")]
    Compress(#[from] flate2::CompressError),
}

/// The `V2DeflateSerializer` encoding (the V2 encoding, zlib-deflated at the default
/// level behind the compressed cookie and length), with one compressor and its buffers
/// kept from histogram to histogram. `V2DeflateSerializer` makes a new compressor per
/// histogram: some 300 KiB allocated and freed each time, which the allocator returns
/// to the system and takes back (page faults) a few times per window.
pub struct ReusedDeflateSerializer {
    v2: V2Serializer,
    uncompressed: Vec<u8>,
    compressor: Compress,
}

impl Default for ReusedDeflateSerializer {
    fn default() -> Self {
        ReusedDeflateSerializer {
            v2: V2Serializer::new(),
            uncompressed: Vec::new(),
            compressor: Compress::new(Compression::default(), true),
        }
    }
}

/// HdrHistogram's cookie for a V2 deflated histogram (`V2CompressedEncodingCookieBase | 0x10`).
const V2_COMPRESSED_COOKIE: u32 = 0x1c84_9304 | 0x10;

impl Serializer for ReusedDeflateSerializer {
    type SerializeError = DeflateError;

    fn serialize<T: Counter, W: Write>(&mut self, h: &Histogram<T>, writer: &mut W) -> Result<usize, DeflateError> {
        self.uncompressed.clear();
        self.v2.serialize(h, &mut self.uncompressed).map_err(DeflateError::V2)?;
        let mut out = Vec::with_capacity(8 + self.uncompressed.len() / 2 + 64);
        out.extend_from_slice(&V2_COMPRESSED_COOKIE.to_be_bytes());
        out.extend_from_slice(&[0; 4]);
        self.compressor.reset();
        loop {
            let consumed = self.compressor.total_in() as usize;
            if out.len() == out.capacity() {
                out.reserve(out.capacity());
            }
            match self.compressor.compress_vec(&self.uncompressed[consumed..], &mut out, FlushCompress::Finish)? {
                Status::StreamEnd => break,
                Status::Ok | Status::BufError => {}
            }
        }
        let len = out.len();
        out[4..8].copy_from_slice(&((len - 8) as u32).to_be_bytes());
        writer.write_all(&out)?;
        Ok(len)
    }
}

/// Streams the interval log as windows close; `record` is the `Hooks::route_windows`
/// callback. An error is kept and returned by `finish`, and nothing more is written.
pub struct HlogWriter<'w> {
    out: &'w mut dyn Write,
    serializer: ReusedDeflateSerializer,
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
        HlogWriter::begin_with(out, &LogHeader::new(sc, seed))
    }

    /// [`begin`](Self::begin) with the scenario's name and routes already taken out.
    fn begin_with(out: &'w mut dyn Write, header: &LogHeader) -> Result<HlogWriter<'w>, HlogError> {
        let mut serializer = ReusedDeflateSerializer::default();
        IntervalLogWriterBuilder::new()
            .add_comment(&format!(
                "[meshsim latency per route: scenario {}, seed {}; values in microseconds; simulated time]",
                header.name.replace('\n', " "),
                header.seed
            ))
            .add_comment("[Histogram log format version 1.3]")
            .with_start_time(UNIX_EPOCH)
            .with_base_time(UNIX_EPOCH)
            .begin_log_with(&mut &mut *out, &mut serializer)?;
        writeln!(out, "{LEGEND}")?;
        Ok(HlogWriter { out, serializer, tags: header.tags.clone(), error: None })
    }

    /// Writes route `route`'s histogram of the window from `start` to `end`.
    pub fn record(&mut self, start: SimTime, end: SimTime, route: RouteId, latency: &Latency) {
        self.record_histogram(start, end, route, latency.histogram());
    }

    fn record_histogram(&mut self, start: SimTime, end: SimTime, route: RouteId, histogram: &Histogram<u64>) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = self.write(start, end, route, histogram) {
            self.error = Some(e);
        }
    }

    fn write(
        &mut self,
        start: SimTime,
        end: SimTime,
        route: RouteId,
        histogram: &Histogram<u64>,
    ) -> Result<(), HlogError> {
        let name = &self.tags[route.idx()];
        // Route names are validated to letters, digits, '-' and '_', which a tag allows.
        let tag = Tag::new(name).expect("a route name is a valid interval-log tag");
        // A writer without headers writes only the interval line.
        IntervalLogWriterBuilder::new().begin_log_with(&mut self.out, &mut self.serializer)?.write_histogram(
            histogram,
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

/// What the log's header and interval tags need from the scenario.
struct LogHeader {
    name: String,
    seed: u64,
    tags: Vec<String>,
}

impl LogHeader {
    fn new(sc: &Scenario, seed: u64) -> LogHeader {
        LogHeader { name: sc.name.clone(), seed, tags: sc.gateway.routes.iter().map(|r| r.name.clone()).collect() }
    }
}

/// One route's window histogram on its way to the writer thread.
struct Interval {
    start: SimTime,
    end: SimTime,
    route: RouteId,
    histogram: Histogram<u64>,
}

/// Intervals the loop may hand over before it waits for the writer thread: a few
/// windows of a mesh with many routes, a few hundred KiB of histograms at most.
const INTERVALS_IN_FLIGHT: usize = 256;

/// [`HlogWriter`] on a thread of its own, so that the event loop only copies each
/// route's window histogram (a memory copy) and the V2 encoding and deflating (miniz
/// zeroes its tables for every histogram) run beside it, on the machine's other core.
/// The thread writes the intervals in the order `record` is called, so the bytes are
/// those of [`HlogWriter`]. A bounded channel keeps the loop at most
/// `INTERVALS_IN_FLIGHT` intervals ahead. The first error stops the thread, and
/// [`finish`](Self::finish) returns it.
pub struct HlogThread<W: Write + Send + 'static> {
    /// `None` once the thread is gone (it stopped at an error).
    tx: Option<SyncSender<Interval>>,
    /// `None` once joined.
    thread: Option<JoinHandle<Result<W, HlogError>>>,
}

impl<W: Write + Send + 'static> HlogThread<W> {
    /// Starts the thread, which writes the header to `out` (see [`HlogWriter::begin`]).
    ///
    /// # Errors
    /// If the thread cannot be started. Errors writing the log come from `finish`.
    pub fn spawn(out: W, sc: &Scenario, seed: u64) -> Result<HlogThread<W>, HlogError> {
        HlogThread::spawn_with(out, LogHeader::new(sc, seed))
    }

    fn spawn_with(mut out: W, header: LogHeader) -> Result<HlogThread<W>, HlogError> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Interval>(INTERVALS_IN_FLIGHT);
        let thread = std::thread::Builder::new().name(crate::output::hlog::FILE.into()).spawn(move || {
            let mut writer = HlogWriter::begin_with(&mut out, &header)?;
            // Ends when the loop's sender is dropped (by `finish`), or at the first error.
            for iv in rx {
                writer.record_histogram(iv.start, iv.end, iv.route, &iv.histogram);
                if writer.error.is_some() {
                    break;
                }
            }
            writer.finish()?;
            Ok(out)
        })?;
        Ok(HlogThread { tx: Some(tx), thread: Some(thread) })
    }

    /// Hands route `route`'s histogram of the window from `start` to `end` to the thread.
    pub fn record(&mut self, start: SimTime, end: SimTime, route: RouteId, latency: &Latency) {
        let Some(tx) = &self.tx else { return };
        let iv = Interval { start, end, route, histogram: latency.histogram().clone() };
        if tx.send(iv).is_err() {
            // The thread stopped at an error, which `finish` returns.
            self.tx = None;
        }
    }

    /// Waits for the thread to write everything handed over and flush, and gives back
    /// the writer.
    ///
    /// # Errors
    /// The first error writing the log.
    ///
    /// # Panics
    /// If the writer thread panicked.
    pub fn finish(mut self) -> Result<W, HlogError> {
        self.join().expect("joined once")
    }

    fn join(&mut self) -> Option<Result<W, HlogError>> {
        drop(self.tx.take());
        match self.thread.take()?.join() {
            Ok(result) => Some(result),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

impl<W: Write + Send + 'static> Drop for HlogThread<W> {
    /// Not finished (the run failed): the thread writes what it was given, then the
    /// writer is dropped (an `AtomicFile` removes its temporary file).
    fn drop(&mut self) {
        if !std::thread::panicking() {
            drop(self.join());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdrhistogram::serialization::V2DeflateSerializer;
    use proptest::prelude::*;

    fn header() -> LogHeader {
        LogHeader { name: "a\nb".into(), seed: 7, tags: vec!["browse".into(), "buy".into()] }
    }

    proptest! {
        /// The writer thread writes the bytes `HlogWriter` writes, windows of histograms
        /// handed over one by one, including empty ones.
        #[test]
        fn the_writer_thread_writes_the_bytes_of_the_writer(
            windows in proptest::collection::vec(
                proptest::collection::vec(proptest::collection::vec(1u64..10_000_000_000, 0..50), 2),
                0..12,
            )
        ) {
            let mut direct = Vec::new();
            let mut writer = HlogWriter::begin_with(&mut direct, &header()).unwrap();
            let mut thread = HlogThread::spawn_with(Vec::new(), header()).unwrap();
            for (k, routes) in windows.iter().enumerate() {
                let (start, end) = (SimTime(k as u64 * 1_000_000_000), SimTime((k as u64 + 1) * 1_000_000_000));
                for (r, values) in routes.iter().enumerate() {
                    let mut latency = Latency::with_digits(2);
                    for &ns in values {
                        latency.record(crate::time::SimDuration(ns));
                    }
                    writer.record(start, end, RouteId(r as u32), &latency);
                    thread.record(start, end, RouteId(r as u32), &latency);
                }
            }
            writer.finish().unwrap();
            let threaded = thread.finish().unwrap();
            prop_assert_eq!(threaded, direct);
        }
    }

    /// A writer that fails after `ok` bytes.
    struct Failing {
        ok: usize,
    }

    impl Write for Failing {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.ok < buf.len() {
                return Err(io::Error::other("disk full"));
            }
            self.ok -= buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_writer_threads_first_error_comes_back_from_finish() {
        let mut thread = HlogThread::spawn_with(Failing { ok: 300 }, header()).unwrap();
        let mut latency = Latency::with_digits(2);
        latency.record(crate::time::SimDuration(5_000_000));
        // Far more than the channel holds: the loop must not block once the thread stopped.
        for k in 0..10 * INTERVALS_IN_FLIGHT as u64 {
            thread.record(SimTime(k), SimTime(k + 1), RouteId(0), &latency);
        }
        let err = thread.finish().err().expect("the writer failed");
        assert!(err.to_string().contains("disk full"), "{err}");
    }

    proptest! {
        /// One reused serializer gives, histogram after histogram, the bytes of a new
        /// `V2DeflateSerializer` each time.
        #[test]
        fn reused_compressor_gives_the_library_bytes(
            hists in proptest::collection::vec(proptest::collection::vec((1u64..100_000_000, 1u64..1000), 0..300), 1..6)
        ) {
            let mut reused = ReusedDeflateSerializer::default();
            for values in hists {
                let mut h = Histogram::<u64>::new(2).unwrap();
                for (v, n) in values {
                    h.record_n(v, n).unwrap();
                }
                let (mut ours, mut theirs) = (Vec::new(), Vec::new());
                let n = reused.serialize(&h, &mut ours).unwrap();
                V2DeflateSerializer::new().serialize(&h, &mut theirs).unwrap();
                prop_assert_eq!(n, ours.len());
                prop_assert_eq!(ours, theirs);
            }
        }
    }
}

//! Distributed tracing of sampled requests: W3C trace and span ids, one span per hop,
//! exported as OTLP JSON lines (`traces.otlp.jsonl`) and as Chrome trace-event JSON
//! (`trace.json`).
//!
//! Spans of a request: the gateway's (the root, from arrival to answer), one client span
//! per attempt of each call (retries and hedges are siblings under the span of whoever
//! makes the call), and one server span per job at an instance (from its arrival, queue
//! wait included, to its answer), under the attempt that brought it. A client span ends
//! when its caller stops waiting (an answer, a timeout, a cancelled hedge); the callee may
//! work on after that (wasted work): its server span then ends after its parent and says
//! so (`meshsim.caller_gone`). Ids come from the stream `trace/ids`, sampling from
//! `trace/sample`, so traces are as deterministic as everything else. Times are simulated
//! nanoseconds from the start of the run.

use crate::rng::Stream;
use crate::time::SimTime;
use rand::Rng;
use std::io::Write;

/// The default share of requests traced.
pub const DEFAULT_SAMPLE_RATE: f64 = 0.001;

/// OTLP span kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpanKind {
    Server,
    Client,
}

/// An attribute value.
#[derive(Clone, Debug, PartialEq)]
pub enum Attr {
    Str(String),
    Int(i64),
    Bool(bool),
}

/// How a span ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpanStatus {
    Ok,
    Error,
}

struct Slot {
    trace: u128,
    id: u64,
    parent: u64,
    /// The parent's slot (`u32::MAX` for a root).
    parent_slot: u32,
    /// The request's number among traced ones: its Chrome "process".
    request: u32,
    name: String,
    service: String,
    kind: SpanKind,
    start: SimTime,
    /// Set when the span ended (and was written); the slot may live on as a parent.
    end: Option<SimTime>,
    attrs: Vec<(&'static str, Attr)>,
    /// The parent span ended before this one: its caller stopped waiting.
    orphan: bool,
    /// The owner is gone: free the slot when the span ends.
    release_on_end: bool,
}

/// Open spans and the writers they go to when they end.
pub struct Tracer<'h> {
    rate: f64,
    /// `ln(1 - rate)`, for the geometric gaps between sampled requests.
    ln_unsampled: f64,
    /// Requests still to pass untraced before the next sampled one.
    skip: u64,
    sample_rng: Stream,
    id_rng: Stream,
    slots: Vec<Slot>,
    free: Vec<u32>,
    traced: u32,
    otlp: Option<&'h mut dyn Write>,
    chrome: Option<&'h mut dyn Write>,
    chrome_first: bool,
    pub spans_written: u64,
    error: Option<std::io::Error>,
    /// The bytes of the span being written, reused span after span.
    buf: Vec<u8>,
}

impl<'h> Tracer<'h> {
    pub fn new(
        rate: f64,
        sample_rng: Stream,
        id_rng: Stream,
        otlp: Option<&'h mut dyn Write>,
        mut chrome: Option<&'h mut dyn Write>,
    ) -> Tracer<'h> {
        let mut error = None;
        if let Some(w) = chrome.as_mut()
            && let Err(e) = w.write_all(b"{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n")
        {
            error = Some(e);
        }
        let mut tracer = Tracer {
            rate,
            ln_unsampled: (-rate).ln_1p(),
            skip: 0,
            sample_rng,
            id_rng,
            slots: Vec::new(),
            free: Vec::new(),
            traced: 0,
            otlp,
            chrome,
            chrome_first: true,
            spans_written: 0,
            error,
            buf: Vec::with_capacity(2048),
        };
        tracer.skip = tracer.gap();
        tracer
    }

    /// Whether the next request is traced. Each request is traced with probability
    /// `rate`, independently; rather than one draw per request, one draw per sampled
    /// request gives the number of untraced requests before the next sampled one.
    #[inline]
    pub fn sample(&mut self) -> bool {
        if self.skip > 0 {
            self.skip -= 1;
            return false;
        }
        self.skip = self.gap();
        true
    }

    /// A geometric draw: untraced requests before the next traced one, each traced with
    /// probability `rate` (`u64::MAX`, never, at rate 0). By inversion: with `u` uniform
    /// in (0, 1], `floor(ln u / ln(1 - rate))` is `k` with probability
    /// `(1 - rate)^k rate`.
    #[cold]
    fn gap(&mut self) -> u64 {
        if self.rate >= 1.0 {
            return 0;
        }
        if self.rate <= 0.0 {
            return u64::MAX;
        }
        let u = 1.0 - self.sample_rng.random::<f64>();
        // Saturates for a gap beyond u64 (a tiny rate).
        (u.ln() / self.ln_unsampled) as u64
    }

    fn alloc(&mut self, slot: Slot) -> u32 {
        match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = slot;
                i
            }
            None => {
                self.slots.push(slot);
                (self.slots.len() - 1) as u32
            }
        }
    }

    fn span_id(&mut self) -> u64 {
        loop {
            let id: u64 = self.id_rng.random();
            if id != 0 {
                return id;
            }
        }
    }

    /// A new trace's root span; returns its slot.
    pub fn root(&mut self, now: SimTime, name: String, service: &str, attrs: Vec<(&'static str, Attr)>) -> u32 {
        let trace = loop {
            let t: u128 = self.id_rng.random();
            if t != 0 {
                break t;
            }
        };
        let id = self.span_id();
        self.traced += 1;
        let request = self.traced;
        let slot = Slot {
            trace,
            id,
            parent: 0,
            parent_slot: u32::MAX,
            request,
            name,
            service: service.to_string(),
            kind: SpanKind::Server,
            start: now,
            end: None,
            attrs,
            orphan: false,
            release_on_end: false,
        };
        self.alloc(slot)
    }

    /// A child of the span in `parent`'s slot; returns its slot.
    pub fn child(
        &mut self,
        parent: u32,
        now: SimTime,
        kind: SpanKind,
        name: String,
        service: &str,
        attrs: Vec<(&'static str, Attr)>,
    ) -> u32 {
        let p = &self.slots[parent as usize];
        let (trace, parent_id, request, orphan) = (p.trace, p.id, p.request, p.end.is_some());
        let id = self.span_id();
        let slot = Slot {
            trace,
            id,
            parent: parent_id,
            parent_slot: parent,
            request,
            name,
            service: service.to_string(),
            kind,
            start: now,
            end: None,
            attrs,
            orphan,
            release_on_end: false,
        };
        self.alloc(slot)
    }

    /// The W3C `traceparent` header a span sends (or received).
    pub fn traceparent(&self, slot: u32) -> String {
        let s = &self.slots[slot as usize];
        let mut b = Vec::with_capacity(55);
        b.extend_from_slice(b"00-");
        push_hex(&mut b, s.trace, 32);
        b.push(b'-');
        push_hex(&mut b, u128::from(s.id), 16);
        b.extend_from_slice(b"-01");
        String::from_utf8(b).expect("hex digits are ASCII")
    }

    /// Ends the span (once; later calls do nothing) and writes it out. The slot stays
    /// until [`release`](Self::release), so children can still name it as their parent.
    pub fn end(&mut self, slot: u32, now: SimTime, status: SpanStatus, attrs: Vec<(&'static str, Attr)>) {
        if self.slots[slot as usize].end.is_some() {
            return;
        }
        let tp = self.traceparent(slot);
        let (ps, pid) = (self.slots[slot as usize].parent_slot, self.slots[slot as usize].parent);
        // The caller stopped waiting before this span ended (its work went on, wasted).
        let parent_gone = ps != u32::MAX
            && self.slots.get(ps as usize).is_some_and(|p| p.id == pid && p.end.is_some_and(|e| e < now));
        let s = &mut self.slots[slot as usize];
        s.orphan |= parent_gone;
        s.end = Some(now);
        s.attrs.extend(attrs);
        s.attrs.push(("w3c.traceparent", Attr::Str(tp)));
        if s.orphan {
            s.attrs.push(("meshsim.caller_gone", Attr::Bool(true)));
        }
        self.spans_written += 1;
        let s = &self.slots[slot as usize];
        let buf = &mut self.buf;
        if let Some(w) = self.otlp.as_mut() {
            buf.clear();
            push_otlp_line(buf, s, status);
            if let Err(e) = w.write_all(buf) {
                self.error.get_or_insert(e);
            }
        }
        if let Some(w) = self.chrome.as_mut() {
            buf.clear();
            if !self.chrome_first {
                buf.extend_from_slice(b",\n");
            }
            self.chrome_first = false;
            push_chrome_events(buf, s, status);
            if let Err(e) = w.write_all(buf) {
                self.error.get_or_insert(e);
            }
        }
        if s.release_on_end {
            self.free.push(slot);
        }
    }

    /// Frees a slot whose owner is gone: now if its span has ended, else when it ends.
    pub fn release(&mut self, slot: u32) {
        if self.slots[slot as usize].end.is_some() {
            self.free.push(slot);
        } else {
            self.slots[slot as usize].release_on_end = true;
        }
    }

    /// The span's trace id, span id and parent span id (0 for a root).
    pub fn ids(&self, slot: u32) -> (u128, u64, u64) {
        let s = &self.slots[slot as usize];
        (s.trace, s.id, s.parent)
    }

    /// Whether the span in `slot` has ended.
    pub fn is_ended(&self, slot: u32) -> bool {
        self.slots[slot as usize].end.is_some()
    }

    /// Closes the Chrome trace's JSON and flushes both writers.
    pub fn finish(&mut self) -> std::io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if let Some(w) = self.chrome.as_mut() {
            w.write_all(b"\n]}\n")?;
            w.flush()?;
        }
        if let Some(w) = self.otlp.as_mut() {
            w.flush()?;
        }
        Ok(())
    }
}

/// Appends `s` as a JSON string, escaped as `serde_json` escapes it: `"` and `\`, the
/// short escapes `\b \f \n \r \t`, other control characters as `\u00xx`; everything else
/// (non-ASCII included) as is.
fn push_json_str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut from = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short = match b {
            b'"' => b'"',
            b'\\' => b'\\',
            0x08 => b'b',
            0x0c => b'f',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            0..=0x1f => b'u',
            _ => continue,
        };
        out.extend_from_slice(&bytes[from..i]);
        from = i + 1;
        out.push(b'\\');
        out.push(short);
        if short == b'u' {
            out.extend_from_slice(&[b'0', b'0', HEX[(b >> 4) as usize], HEX[(b & 0xf) as usize]]);
        }
    }
    out.extend_from_slice(&bytes[from..]);
    out.push(b'"');
}

/// Appends `n` in decimal.
fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

fn push_i64(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    push_u64(out, n.unsigned_abs());
}

/// Appends the low `digits` hex digits of `n`, zero-padded, lower case.
fn push_hex(out: &mut Vec<u8>, n: u128, digits: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for k in (0..digits).rev() {
        out.push(HEX[((n >> (4 * k)) & 0xf) as usize]);
    }
}

fn push_quoted_hex(out: &mut Vec<u8>, n: u128, digits: u32) {
    out.push(b'"');
    push_hex(out, n, digits);
    out.push(b'"');
}

/// Appends simulated nanoseconds as microseconds with three decimals.
fn push_us(out: &mut Vec<u8>, t: SimTime) {
    push_u64(out, t.0 / 1000);
    out.push(b'.');
    let frac = t.0 % 1000;
    out.extend_from_slice(&[b'0' + (frac / 100) as u8, b'0' + (frac / 10 % 10) as u8, b'0' + (frac % 10) as u8]);
}

fn push_attr(out: &mut Vec<u8>, key: &str, v: &Attr) {
    out.extend_from_slice(b"{\"key\":");
    push_json_str(out, key);
    out.extend_from_slice(b",\"value\":");
    match v {
        Attr::Str(s) => {
            out.extend_from_slice(b"{\"stringValue\":");
            push_json_str(out, s);
            out.push(b'}');
        }
        Attr::Int(i) => {
            out.extend_from_slice(b"{\"intValue\":\"");
            push_i64(out, *i);
            out.extend_from_slice(b"\"}");
        }
        Attr::Bool(b) => {
            out.extend_from_slice(if *b { b"{\"boolValue\":true}" } else { b"{\"boolValue\":false}" });
        }
    }
    out.push(b'}');
}

/// Appends one OTLP/JSON `ExportTraceServiceRequest` holding one span, on one line.
fn push_otlp_line(out: &mut Vec<u8>, s: &Slot, status: SpanStatus) {
    out.extend_from_slice(
        b"{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":",
    );
    push_json_str(out, &s.service);
    out.extend_from_slice(b"}}]},\"scopeSpans\":[{\"scope\":{\"name\":\"meshsim\"},\"spans\":[{\"traceId\":\"");
    push_hex(out, s.trace, 32);
    out.extend_from_slice(b"\",\"spanId\":\"");
    push_hex(out, u128::from(s.id), 16);
    out.push(b'"');
    if s.parent != 0 {
        out.extend_from_slice(b",\"parentSpanId\":\"");
        push_hex(out, u128::from(s.parent), 16);
        out.push(b'"');
    }
    out.extend_from_slice(b",\"name\":");
    push_json_str(out, &s.name);
    out.extend_from_slice(match s.kind {
        SpanKind::Server => b",\"kind\":2,\"startTimeUnixNano\":\"",
        SpanKind::Client => b",\"kind\":3,\"startTimeUnixNano\":\"",
    });
    push_u64(out, s.start.0);
    out.extend_from_slice(b"\",\"endTimeUnixNano\":\"");
    push_u64(out, s.end.unwrap_or(s.start).0);
    out.extend_from_slice(b"\",\"attributes\":[");
    for (i, (k, v)) in s.attrs.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_attr(out, k, v);
    }
    out.extend_from_slice(match status {
        SpanStatus::Ok => b"],\"status\":{\"code\":1}}]}]}]}\n",
        SpanStatus::Error => b"],\"status\":{\"code\":2}}]}]}]}\n",
    });
}

/// The keys `push_chrome_events` writes before the span's attributes.
const CHROME_ARG_KEYS: [&str; 5] = ["trace_id", "span_id", "parent_span_id", "service", "status"];

/// Appends a span as a Chrome trace-event async slice (`b` and `e`): each traced request
/// is a process (named after it) and each span its own async track, so concurrent spans
/// never mis-nest. The `args` object lists the ids, service and status, then the
/// attributes in order, as a JSON object would hold them (a repeated key keeps its first
/// place and its last value).
fn push_chrome_events(out: &mut Vec<u8>, s: &Slot, status: SpanStatus) {
    if s.parent == 0 {
        // Name the request's process after its root span.
        out.extend_from_slice(b"{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":");
        push_u64(out, u64::from(s.request));
        out.extend_from_slice(b",\"args\":{\"name\":\"request ");
        push_u64(out, u64::from(s.request));
        out.push(b' ');
        // The name inside the quotes already opened.
        let at = out.len();
        push_json_str(out, &s.name);
        out.remove(at);
        out.extend_from_slice(b"}},\n");
    }
    let cat: &[u8] = match s.kind {
        SpanKind::Server => b"\"server\"",
        SpanKind::Client => b"\"client\"",
    };
    let head = |out: &mut Vec<u8>, ph: &[u8]| {
        out.extend_from_slice(b"{\"name\":");
        push_json_str(out, &s.name);
        out.extend_from_slice(b",\"cat\":");
        out.extend_from_slice(cat);
        out.extend_from_slice(ph);
        push_hex(out, u128::from(s.id), 16);
        out.extend_from_slice(b"\",\"pid\":");
        push_u64(out, u64::from(s.request));
        out.extend_from_slice(b",\"tid\":0,\"ts\":");
    };
    head(out, b",\"ph\":\"b\",\"id\":\"0x");
    push_us(out, s.start);
    // A fixed key that an attribute repeats takes the attribute's value.
    let last = |k: &str| s.attrs.iter().rev().find(|(e, _)| *e == k).map(|(_, v)| v);
    out.extend_from_slice(b",\"args\":{\"trace_id\":");
    match last("trace_id") {
        Some(v) => push_chrome_value(out, v),
        None => push_quoted_hex(out, s.trace, 32),
    }
    out.extend_from_slice(b",\"span_id\":");
    match last("span_id") {
        Some(v) => push_chrome_value(out, v),
        None => push_quoted_hex(out, u128::from(s.id), 16),
    }
    if s.parent != 0 {
        out.extend_from_slice(b",\"parent_span_id\":");
        match last("parent_span_id") {
            Some(v) => push_chrome_value(out, v),
            None => push_quoted_hex(out, u128::from(s.parent), 16),
        }
    }
    out.extend_from_slice(b",\"service\":");
    match last("service") {
        Some(v) => push_chrome_value(out, v),
        None => push_json_str(out, &s.service),
    }
    out.extend_from_slice(b",\"status\":");
    match last("status") {
        Some(v) => push_chrome_value(out, v),
        None => out.extend_from_slice(if status == SpanStatus::Ok { b"\"ok\"" } else { b"\"error\"" }),
    }
    for (i, (k, _)) in s.attrs.iter().enumerate() {
        // A key already written (a fixed one, or an earlier attribute) stays where it is.
        let fixed = CHROME_ARG_KEYS.iter().any(|f| f == k) && (*k != "parent_span_id" || s.parent != 0);
        if fixed || s.attrs[..i].iter().any(|(e, _)| e == k) {
            continue;
        }
        out.push(b',');
        push_json_str(out, k);
        out.push(b':');
        push_chrome_value(out, last(k).expect("the key is an attribute's"));
    }
    out.extend_from_slice(b"}},\n");
    head(out, b",\"ph\":\"e\",\"id\":\"0x");
    push_us(out, s.end.unwrap_or(s.start));
    out.push(b'}');
}

fn push_chrome_value(out: &mut Vec<u8>, v: &Attr) {
    match v {
        Attr::Str(x) => push_json_str(out, x),
        Attr::Int(i) => push_i64(out, *i),
        Attr::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::RootSeed;
    use crate::time::SimDuration;
    use proptest::prelude::*;
    use std::fmt::Write as _;

    // The reference writers: what the span lines were before they were written byte by
    // byte (serde_json values and `format!`). The writers above must give their bytes.

    fn json_str(s: &str) -> String {
        serde_json::to_string(s).expect("a string serialises")
    }

    fn attr_json(key: &str, v: &Attr) -> String {
        let value = match v {
            Attr::Str(s) => format!("{{\"stringValue\":{}}}", json_str(s)),
            Attr::Int(i) => format!("{{\"intValue\":\"{i}\"}}"),
            Attr::Bool(b) => format!("{{\"boolValue\":{b}}}"),
        };
        format!("{{\"key\":{},\"value\":{value}}}", json_str(key))
    }

    #[allow(clippy::write_with_newline)] // as it was written
    fn otlp_line(s: &Slot, status: SpanStatus) -> String {
        let attrs: Vec<String> = s.attrs.iter().map(|(k, v)| attr_json(k, v)).collect();
        let parent = if s.parent == 0 { String::new() } else { format!(",\"parentSpanId\":\"{:016x}\"", s.parent) };
        let kind = match s.kind {
            SpanKind::Server => 2,
            SpanKind::Client => 3,
        };
        let code = match status {
            SpanStatus::Ok => 1,
            SpanStatus::Error => 2,
        };
        let mut out = String::with_capacity(512);
        let _ = write!(
            out,
            "{{\"resourceSpans\":[{{\"resource\":{{\"attributes\":[{}]}},\"scopeSpans\":[{{\"scope\":{{\"name\":\"meshsim\"}},\
             \"spans\":[{{\"traceId\":\"{:032x}\",\"spanId\":\"{:016x}\"{parent},\"name\":{},\"kind\":{kind},\
             \"startTimeUnixNano\":\"{}\",\"endTimeUnixNano\":\"{}\",\"attributes\":[{}],\"status\":{{\"code\":{code}}}}}]}}]}}]}}\n",
            attr_json("service.name", &Attr::Str(s.service.clone())),
            s.trace,
            s.id,
            json_str(&s.name),
            s.start.0,
            s.end.unwrap_or(s.start).0,
            attrs.join(",")
        );
        out
    }

    #[allow(clippy::write_with_newline)] // as it was written
    fn chrome_events(s: &Slot, status: SpanStatus) -> String {
        let us = |t: SimTime| format!("{}.{:03}", t.0 / 1000, t.0 % 1000);
        let mut args = serde_json::Map::new();
        args.insert("trace_id".into(), format!("{:032x}", s.trace).into());
        args.insert("span_id".into(), format!("{:016x}", s.id).into());
        if s.parent != 0 {
            args.insert("parent_span_id".into(), format!("{:016x}", s.parent).into());
        }
        args.insert("service".into(), s.service.clone().into());
        args.insert("status".into(), (if status == SpanStatus::Ok { "ok" } else { "error" }).into());
        for (k, v) in &s.attrs {
            let v = match v {
                Attr::Str(x) => serde_json::Value::from(x.clone()),
                Attr::Int(i) => serde_json::Value::from(*i),
                Attr::Bool(b) => serde_json::Value::from(*b),
            };
            args.insert((*k).to_string(), v);
        }
        let args = serde_json::Value::Object(args).to_string();
        let cat = match s.kind {
            SpanKind::Server => "server",
            SpanKind::Client => "client",
        };
        let mut out = String::new();
        if s.parent == 0 {
            let _ = write!(
                out,
                "{{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":{},\"args\":{{\"name\":{}}}}},\n",
                s.request,
                json_str(&format!("request {} {}", s.request, s.name))
            );
        }
        let _ = write!(
            out,
            "{{\"name\":{name},\"cat\":\"{cat}\",\"ph\":\"b\",\"id\":\"0x{id:016x}\",\"pid\":{pid},\"tid\":0,\"ts\":{start},\"args\":{args}}},\n\
             {{\"name\":{name},\"cat\":\"{cat}\",\"ph\":\"e\",\"id\":\"0x{id:016x}\",\"pid\":{pid},\"tid\":0,\"ts\":{end}}}",
            name = json_str(&s.name),
            id = s.id,
            pid = s.request,
            start = us(s.start),
            end = us(s.end.unwrap_or(s.start)),
        );
        out
    }

    /// Attribute keys: real ones, the Chrome args' fixed ones, and an odd one.
    const KEYS: [&str; 9] = [
        "meshsim.route",
        "meshsim.outcome",
        "trace_id",
        "span_id",
        "parent_span_id",
        "service",
        "status",
        "x",
        "a\"b\n",
    ];

    fn attr() -> impl Strategy<Value = (&'static str, Attr)> {
        let value = prop_oneof![
            any::<String>().prop_map(Attr::Str),
            "[ -~\\x00-\\x1f\\x7f]{0,12}".prop_map(Attr::Str),
            any::<i64>().prop_map(Attr::Int),
            any::<bool>().prop_map(Attr::Bool),
        ];
        (0..KEYS.len(), value).prop_map(|(k, v)| (KEYS[k], v))
    }

    fn name() -> impl Strategy<Value = String> {
        prop_oneof![any::<String>(), "[ -~\\x00-\\x1f\\x7f]{0,16}", "[a-z/> -]{0,20}"]
    }

    proptest! {
        #[test]
        fn span_bytes_are_the_reference_writers(
            trace in any::<u128>(), id in any::<u64>(), parent in prop_oneof![Just(0u64), any::<u64>()],
            request in any::<u32>(), name in name(), service in name(), client in any::<bool>(),
            start in any::<u64>(), len in prop_oneof![Just(None), any::<u32>().prop_map(Some)],
            attrs in proptest::collection::vec(attr(), 0..8), ok in any::<bool>(),
        ) {
            let slot = Slot {
                trace, id, parent, parent_slot: u32::MAX, request, name, service,
                kind: if client { SpanKind::Client } else { SpanKind::Server },
                start: SimTime(start),
                end: len.map(|l| SimTime(start.saturating_add(u64::from(l)))),
                attrs, orphan: false, release_on_end: false,
            };
            let status = if ok { SpanStatus::Ok } else { SpanStatus::Error };
            let mut out = Vec::new();
            push_otlp_line(&mut out, &slot, status);
            prop_assert_eq!(String::from_utf8(out).unwrap(), otlp_line(&slot, status));
            let mut out = Vec::new();
            push_chrome_events(&mut out, &slot, status);
            prop_assert_eq!(String::from_utf8(out).unwrap(), chrome_events(&slot, status));
        }
    }

    fn t(ms: u64) -> SimTime {
        SimTime::ZERO + SimDuration::from_millis(ms)
    }

    #[test]
    fn spans_share_the_trace_and_name_their_parent() {
        let (mut otlp, mut chrome) = (Vec::new(), Vec::new());
        {
            let seed = RootSeed(3);
            let mut tr = Tracer::new(1.0, seed.stream("s"), seed.stream("i"), Some(&mut otlp), Some(&mut chrome));
            assert!(tr.sample());
            let root = tr.root(t(0), "checkout".into(), "gateway", vec![]);
            let a = tr.child(root, t(1), SpanKind::Client, "gateway -> order".into(), "gateway", vec![]);
            let tp = tr.traceparent(a);
            assert_eq!(tp.len(), 55);
            assert!(tp.starts_with("00-") && tp.ends_with("-01"));
            let s = tr.child(a, t(2), SpanKind::Server, "order/create".into(), "order", vec![]);
            tr.end(s, t(5), SpanStatus::Ok, vec![]);
            tr.end(a, t(6), SpanStatus::Ok, vec![]);
            tr.end(a, t(7), SpanStatus::Error, vec![]);
            tr.release(s);
            tr.release(a);
            tr.end(root, t(8), SpanStatus::Ok, vec![]);
            tr.release(root);
            assert_eq!(tr.spans_written, 3, "a span ends once");
            tr.finish().unwrap();
        }
        let lines: Vec<serde_json::Value> =
            String::from_utf8(otlp).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let span = |v: &serde_json::Value| v["resourceSpans"][0]["scopeSpans"][0]["spans"][0].clone();
        let (server, client, root) = (span(&lines[0]), span(&lines[1]), span(&lines[2]));
        assert_eq!(server["traceId"], root["traceId"]);
        assert_eq!(server["parentSpanId"], client["spanId"]);
        assert_eq!(client["parentSpanId"], root["spanId"]);
        assert!(root.get("parentSpanId").is_none());
        assert_eq!(server["startTimeUnixNano"], "2000000");
        assert_eq!(client["kind"], 3);
        let chrome: serde_json::Value = serde_json::from_slice(&chrome).unwrap();
        let events = chrome["traceEvents"].as_array().unwrap();
        assert_eq!(events.len(), 7, "a name for the request's process and a b/e pair per span");
    }

    /// The share of `n` requests traced at `rate`, and the longest run without one.
    fn sampled(rate: f64, n: u64, seed: u64) -> (u64, u64) {
        let s = RootSeed(seed);
        let mut tr = Tracer::new(rate, s.stream("trace/sample"), s.stream("trace/ids"), None, None);
        let (mut traced, mut run, mut run_max) = (0, 0, 0);
        for _ in 0..n {
            if tr.sample() {
                traced += 1;
                run = 0;
            } else {
                run += 1;
                run_max = run_max.max(run);
            }
        }
        (traced, run_max)
    }

    #[test]
    fn every_request_or_none_at_the_rates_edges() {
        assert_eq!(sampled(1.0, 1000, 1), (1000, 0));
        assert_eq!(sampled(0.0, 1000, 1), (0, 1000));
    }

    #[test]
    fn sampling_traces_the_stated_share() {
        // Binomial(n, p): within five standard deviations of n p.
        for (rate, n) in [(0.001, 2_000_000), (0.1, 200_000), (0.5, 100_000), (0.999, 100_000)] {
            for seed in 1..4 {
                let (traced, _) = sampled(rate, n, seed);
                let (mean, sd) = (n as f64 * rate, (n as f64 * rate * (1.0 - rate)).sqrt());
                assert!((traced as f64 - mean).abs() < 5.0 * sd, "rate {rate}, seed {seed}: {traced} of {n}");
            }
        }
    }

    proptest! {
        /// The gaps are geometric: as many requests traced right after a traced one (gap
        /// 0, probability p) as the rate says, and as many gaps of at least k as
        /// (1 - p)^k says.
        #[test]
        fn gaps_are_geometric(rate in 0.01f64..0.9, seed in 0u64..1000) {
            let s = RootSeed(seed);
            let mut tr = Tracer::new(rate, s.stream("trace/sample"), s.stream("trace/ids"), None, None);
            let draws = 20_000;
            let gaps: Vec<u64> = (0..draws).map(|_| tr.gap()).collect();
            let k = (1.0 / rate).ceil() as u64;
            for (at_least, p) in [(1, 1.0 - rate), (k, (1.0 - rate).powf(k as f64))] {
                let seen = gaps.iter().filter(|&&g| g >= at_least).count() as f64;
                let (mean, sd) = (draws as f64 * p, (draws as f64 * p * (1.0 - p)).sqrt());
                prop_assert!((seen - mean).abs() < 5.0 * sd + 1.0, "gaps >= {}: {} against {}", at_least, seen, mean);
            }
        }
    }

    #[test]
    fn a_child_begun_after_its_parent_ended_is_marked() {
        let mut otlp = Vec::new();
        {
            let seed = RootSeed(3);
            let mut tr = Tracer::new(1.0, seed.stream("s"), seed.stream("i"), Some(&mut otlp), None);
            let root = tr.root(t(0), "r".into(), "gateway", vec![]);
            let a = tr.child(root, t(1), SpanKind::Client, "a".into(), "gateway", vec![]);
            tr.end(a, t(2), SpanStatus::Error, vec![]);
            let s = tr.child(a, t(3), SpanKind::Server, "s".into(), "x", vec![]);
            tr.end(s, t(4), SpanStatus::Ok, vec![]);
            tr.finish().unwrap();
        }
        let text = String::from_utf8(otlp).unwrap();
        assert!(text.lines().nth(1).unwrap().contains("meshsim.caller_gone"));
        assert!(!text.lines().next().unwrap().contains("meshsim.caller_gone"));
    }
}

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
use std::fmt::Write as _;
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
        if let Some(w) = chrome.as_mut() {
            if let Err(e) = w.write_all(b"{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n") {
                error = Some(e);
            }
        }
        Tracer {
            rate,
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
        }
    }

    /// Whether the next request is traced (one draw per request).
    #[inline]
    pub fn sample(&mut self) -> bool {
        self.rate > 0.0 && (self.rate >= 1.0 || self.sample_rng.random::<f64>() < self.rate)
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
        format!("00-{:032x}-{:016x}-01", s.trace, s.id)
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
        if let Some(w) = self.otlp.as_mut() {
            let line = otlp_line(s, status);
            if let Err(e) = w.write_all(line.as_bytes()) {
                self.error.get_or_insert(e);
            }
        }
        if let Some(w) = self.chrome.as_mut() {
            let sep = if self.chrome_first { "" } else { ",\n" };
            self.chrome_first = false;
            let events = chrome_events(s, status);
            if let Err(e) = w.write_all(format!("{sep}{events}").as_bytes()) {
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

/// One OTLP/JSON `ExportTraceServiceRequest` holding one span, on one line.
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

/// A span as a Chrome trace-event async slice (`b` and `e`): each traced request is a
/// process (named after it) and each span its own async track, so concurrent spans
/// never mis-nest.
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
        // Name the request's process after its root span.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::RootSeed;
    use crate::time::SimDuration;

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

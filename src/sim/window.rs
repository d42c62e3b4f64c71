//! The time series: one row per window and per flow or instance, streamed as each
//! window closes.

use super::*;
use crate::metrics::Counts;
use crate::resilience::breaker::BreakerState;

impl Sim<'_, '_> {
    /// Writes every window that ends at or before `t`.
    pub(super) fn flush_windows(&mut self, t: SimTime) -> Result<(), RunError> {
        while self.recorder.window_end <= t {
            self.write_window(self.recorder.window_end)?;
            self.recorder.window_start = self.recorder.window_end;
            self.recorder.window_end = self.recorder.window_end + self.sc.metrics_interval;
        }
        Ok(())
    }

    /// Writes the windows up to the end of the run, the last one cut short at `t`.
    pub(super) fn flush_final(&mut self, t: SimTime) -> Result<(), RunError> {
        self.flush_windows(t)?;
        if t > self.recorder.window_start {
            self.write_window(t)?;
            self.recorder.window_start = t;
        }
        Ok(())
    }

    pub(super) fn write_window(&mut self, end: SimTime) -> Result<(), RunError> {
        self.windows_done += 1;
        let start = self.recorder.window_start;
        for st in &mut self.stations.instances {
            st.stats.close_window(end);
        }
        self.recorder.total.merge_latencies(self.recorder.routes.iter(), false);
        if !self.slos.is_empty() {
            self.track_recoveries(start);
        }
        if !self.alerts.is_empty() {
            self.evaluate_alerts(end);
        }
        if !self.sc.invariants.is_empty() {
            self.judge_invariants(start, end);
        }
        self.tally_scores(start);
        if let Some(f) = self.recorder.route_windows.as_mut() {
            for (i, flow) in self.recorder.routes.iter().enumerate() {
                f(start, end, RouteId(i as u32), &flow.window_latency);
            }
        }
        if let Some(mut w) = self.recorder.timeseries.take() {
            let mut row = std::mem::take(&mut self.recorder.row);
            let written = self.write_rows(&mut w, &mut row, start, end);
            (self.recorder.timeseries, self.recorder.row) = (Some(w), row);
            written?;
        }
        self.recorder.total.reset_window();
        for c in &mut self.recorder.point_window {
            c.clear();
        }
        self.recorder.window_work_ns = 0;
        self.recorder.window_goodput_ns = 0;
        for f in self.recorder.routes.iter_mut().chain(self.recorder.services.iter_mut()) {
            f.reset_window();
        }
        for st in &mut self.stations.instances {
            st.stats.reset_window();
        }
        Ok(())
    }
}

impl Sim<'_, '_> {
    /// Judges each user invariant on the window [`start`, `end`), if it speaks of it.
    fn judge_invariants(&mut self, start: SimTime, end: SimTime) {
        use crate::invariant::{Subject, When};
        let sc = self.sc;
        for (k, inv) in sc.invariants.iter().enumerate() {
            let applies = match inv.when {
                When::Always => true,
                When::DuringFaults => self.faults.window_faulted,
                When::OutsideFaults => !self.faults.window_faulted,
            };
            if !applies {
                continue;
            }
            let mut broken: Option<String> = None;
            match &inv.subject {
                Subject::Flow(slo) => {
                    let flow = slo.route.map_or(&self.recorder.total, |r| &self.recorder.routes[r.idx()]);
                    if let Some(v) = slo.measure(flow, true).filter(|&v| !inv.holds(v)) {
                        let who = slo.route.map_or("the mesh", |r| sc.gateway.routes[r.idx()].name.as_str());
                        broken = Some(format!("{who}: {}", show(slo, v)));
                    }
                }
                Subject::EveryRoute(slo) => {
                    for (r, flow) in self.recorder.routes.iter().enumerate() {
                        if let Some(v) = slo.measure(flow, true).filter(|&v| !inv.holds(v)) {
                            broken = Some(format!("{}: {}", sc.gateway.routes[r].name, show(slo, v)));
                            break;
                        }
                    }
                }
                Subject::RetryAmplification => {
                    for (i, p) in self.recorder.point_window.iter().enumerate() {
                        let calls = p.counts.total();
                        if calls == 0 {
                            continue;
                        }
                        let a = p.attempts as f64 / calls as f64;
                        if !inv.holds(a) {
                            let point = &self.recorder.points[i];
                            let caller = match point.caller {
                                Caller::Gateway => "gateway",
                                Caller::Service(s) => sc.services[s.idx()].name.as_str(),
                            };
                            let dest = &sc.services[point.destination.idx()].name;
                            broken = Some(format!("{caller}->{dest}: {a:.3} attempts per call"));
                            break;
                        }
                    }
                }
            }
            if let Some(what) = broken {
                let b = &mut self.invariants_broken[k];
                b.0 += 1;
                if b.1.is_none() {
                    b.1 = Some(format!("window {:.3}-{:.3} s: {what}", start.as_secs_f64(), end.as_secs_f64()));
                }
            }
        }
    }
}

/// A window's measured value in its SLO's unit.
fn show(slo: &crate::slo::Slo, v: f64) -> String {
    match slo.unit() {
        "%" => format!("{:.3}%", 100.0 * v),
        _ => format!("{v:.3} ms"),
    }
}

/// The columns of `alerts.csv`.
pub use crate::output::alerts::HEADER as ALERTS_HEADER;

impl Sim<'_, '_> {
    /// Evaluates every alerting rule on the window ending at `end`: a firing alert is a
    /// detection of the faults active then.
    fn evaluate_alerts(&mut self, end: SimTime) {
        let sc = self.sc;
        for (k, rule) in sc.alerts.iter().enumerate() {
            let flow = rule.expr.route.map_or(&self.recorder.total, |r| &self.recorder.routes[r.idx()]);
            let value = rule.expr.measure(flow, true);
            let holds = value.is_some_and(|v| rule.expr.holds(v));
            let Some(change) = self.alerts[k].evaluate(rule.for_, end, holds) else { continue };
            if change == crate::alert::AlertChange::Firing {
                self.note_detection_at(end);
                for o in self.faults.occurrences.iter_mut().filter(|o| o.alerted.is_none() && o.start <= end) {
                    o.alerted = Some(end);
                }
            }
            if let Some(w) = self.recorder.alerts_csv.as_mut() {
                let shown = value.map_or(String::new(), |v| match rule.expr.unit() {
                    "%" => fixed(4, 100.0 * v),
                    _ => fixed(3, v),
                });
                let row = [
                    fixed(6, end.as_secs_f64()),
                    rule.name.clone(),
                    change.name().to_string(),
                    shown,
                    rule.expr.text.clone(),
                ];
                if let Err(e) = w.write_record(&row) {
                    self.recorder.deferred_error.get_or_insert(e);
                }
            }
        }
    }
}

// The index of each time-series column in `TIMESERIES_HEADER`.
use crate::output::timeseries::col;

/// `x` with `decimals` digits after the point, as `format!("{x:.decimals$}")` writes it
/// for the non-negative, moderate values of the time series, but through integer
/// formatting, which is several times cheaper than exact float formatting. Ties round
/// away from zero.
pub(super) fn fixed(decimals: u32, x: f64) -> String {
    let mut s = String::new();
    push_fixed(&mut s, decimals, x);
    s
}

/// Appends `fixed(decimals, x)` to `out`.
fn push_fixed(out: &mut String, decimals: u32, x: f64) {
    const SCALES: [u64; 7] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000];
    let scale = SCALES.get(decimals as usize).copied().unwrap_or_else(|| 10u64.pow(decimals));
    let v = (x * scale as f64).round();
    if !(0.0..9.0e15).contains(&v) || decimals > 6 {
        use std::fmt::Write as _;
        write!(out, "{x:.*}", decimals as usize).expect("writing to a String cannot fail");
        return;
    }
    // Digits from the last, into the end of a buffer: no formatting machinery. Below
    // 9e15, at most 16 digits, a point and 6 decimals' leading zeros.
    let mut v = v as u64;
    let mut digits = [0u8; 24];
    let mut n = digits.len();
    for _ in 0..decimals {
        n -= 1;
        digits[n] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    if decimals > 0 {
        n -= 1;
        digits[n] = b'.';
    }
    loop {
        n -= 1;
        digits[n] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&digits[n..]).expect("ASCII digits"));
}

/// Appends `v` in decimal to `out`, as `v.to_string()` writes it.
fn push_u64(out: &mut String, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut n = digits.len();
    loop {
        n -= 1;
        digits[n] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&digits[n..]).expect("ASCII digits"));
}

/// Appends `field` as the csv writer's default quoting (`QuoteStyle::Necessary`) writes
/// it: in double quotes, with its quotes doubled, if it holds a comma, a quote or a line
/// break; as it is otherwise.
fn push_csv_field(out: &mut String, field: &str) {
    if !field.bytes().any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n')) {
        out.push_str(field);
        return;
    }
    out.push('"');
    for (k, part) in field.split('"').enumerate() {
        if k > 0 {
            out.push_str("\"\"");
        }
        out.push_str(part);
    }
    out.push('"');
}

/// One time-series row, its cells in `TIMESERIES_HEADER` order; cells a scope does not
/// have stay empty. One row's cells are reused for every row, so writing a window
/// allocates nothing once the cells have grown.
///
/// The row goes to the csv writer as one field, the cells joined by commas, which the
/// time series' writer takes as it is (`QuoteStyle::Never`, see `Sim::new`): the numbers
/// never need quotes, and the names are quoted here as the writer would quote them. A
/// csv writer checking and copying 39 fields one by one cost more than the rest of the row.
pub(super) struct Row {
    cells: Vec<String>,
    line: String,
}

impl Default for Row {
    fn default() -> Row {
        Row { cells: vec![String::new(); TIMESERIES_HEADER.len()], line: String::new() }
    }
}

impl Row {
    /// Empties every cell and fills the four that every row has.
    fn start(&mut self, start: &str, end: &str, scope: &str, name: &str) -> &mut Row {
        for c in &mut self.cells {
            c.clear();
        }
        self.cells[0].push_str(start);
        self.cells[1].push_str(end);
        push_csv_field(&mut self.cells[2], scope);
        push_csv_field(&mut self.cells[3], name);
        self
    }

    /// Writes the row as one line.
    fn write(&mut self, w: &mut csv::Writer<&mut dyn Write>) -> csv::Result<()> {
        self.line.clear();
        for (k, c) in self.cells.iter().enumerate() {
            if k > 0 {
                self.line.push(',');
            }
            self.line.push_str(c);
        }
        w.write_record([self.line.as_bytes()])
    }

    fn set(&mut self, column: usize, value: u64) -> &mut Row {
        let c = &mut self.cells[column];
        c.clear();
        push_u64(c, value);
        self
    }

    /// The cell as `fixed(decimals, x)`.
    fn set_fixed(&mut self, column: usize, decimals: u32, x: f64) -> &mut Row {
        let c = &mut self.cells[column];
        c.clear();
        push_fixed(c, decimals, x);
        self
    }

    fn counts(&mut self, c: &Counts, secs: f64) -> &mut Row {
        self.set(col::REQUESTS, c.total())
            .set(col::OK, c.ok)
            .set(col::ERROR, c.error)
            .set(col::TIMEOUT, c.timeout)
            .set(col::REJECTED, c.rejected)
            .set(col::DROPPED, c.dropped)
            .set(col::SHORT_CIRCUITED, c.short_circuited)
            .set(col::OVERLOADED, c.overloaded)
            .set_fixed(col::THROUGHPUT_RPS, 3, if secs > 0.0 { c.total() as f64 / secs } else { 0.0 })
    }
}

impl Sim<'_, '_> {
    /// Resilience scores, window by window: availability in windows with and without a
    /// fault, the baseline before the first fault, recoveries (back to 99 % of the
    /// baseline), and the peak retry amplification of any policy point in one window.
    fn tally_scores(&mut self, start: SimTime) {
        let c = &self.recorder.total.window_counts;
        let (ok, total) = (c.ok, c.total());
        let sc = &mut self.faults.scores;
        if self.faults.window_faulted {
            sc.ok_in_faults += ok;
            sc.total_in_faults += total;
        } else {
            sc.ok_outside += ok;
            sc.total_outside += total;
            if self.faults.occurrences.is_empty() && total > 0 {
                sc.baseline = Some(sc.ok_outside as f64 / sc.total_outside as f64);
            }
        }
        let availability = if total > 0 { Some(ok as f64 / total as f64) } else { None };
        let target = sc.baseline.unwrap_or(1.0) * 0.99;
        if availability.is_some_and(|a| a >= target) {
            for o in self.faults.occurrences.iter_mut() {
                if o.recovered.is_none() && o.end.is_some_and(|e| start >= e) {
                    o.recovered = Some(start);
                }
            }
        }
        for p in self.recorder.point_window.iter().filter(|p| p.counts.total() > 0) {
            sc.peak_amplification = sc.peak_amplification.max(p.attempts as f64 / p.counts.total() as f64);
        }
        // The next window has a fault if one is still active when it begins.
        self.faults.window_faulted = self.faults.faults_active > 0;
    }

    /// For each SLO, whether this window (starting at `start`) is within it: the first
    /// such window at or after a fault's end marks the recovery from that fault.
    fn track_recoveries(&mut self, start: SimTime) {
        for (k, slo) in self.slos.iter().enumerate() {
            let flow = slo.route.map_or(&self.recorder.total, |r| &self.recorder.routes[r.idx()]);
            let Some(v) = slo.measure(flow, true) else { continue };
            if !slo.holds(v) {
                continue;
            }
            for (j, &end) in self.faults.fault_ends.iter().enumerate() {
                if start >= end && self.recoveries[k][j].is_none() {
                    self.recoveries[k][j] = Some(start.since(end));
                }
            }
        }
    }

    /// Judges every SLO on the whole run (measured requests) and its recoveries.
    pub(super) fn judge_slos(&self) -> Vec<crate::slo::SloResult> {
        self.slos
            .iter()
            .enumerate()
            .map(|(k, slo)| {
                let flow = slo.route.map_or(&self.recorder.total, |r| &self.recorder.routes[r.idx()]);
                let measured = slo.measure(flow, false);
                let recoveries: Vec<_> = self
                    .faults
                    .fault_ends
                    .iter()
                    .zip(&self.recoveries[k])
                    .filter(|&(&end, _)| end <= self.now)
                    .map(|(&end, &r)| (end, r))
                    .collect();
                let recovered = slo
                    .recovery_within
                    .is_none_or(|limit| recoveries.iter().all(|(_, r)| r.is_some_and(|r| r <= limit)));
                let pass = measured.is_none_or(|v| slo.holds(v)) && recovered;
                crate::slo::SloResult { slo: slo.clone(), measured, recoveries, pass }
            })
            .collect()
    }

    /// A service's instances running, listed by the registry, and seen by the callers'
    /// views on average, at the window's end.
    fn discovery_cells(&self, row: &mut Row, service: &str) {
        let sc = self.sc;
        let Some(sid) = sc.services.iter().position(|s| s.name == service) else { return };
        let svc = &sc.services[sid];
        row.set(col::INSTANCES_UP, svc.instances.iter().filter(|&&i| self.is_running(i)).count() as u64);
        if let Some(reg) = &self.discovery.registry {
            row.set(col::REGISTRY_LISTED, reg.view(sid).map_or(0, |v| v.instances.len()) as u64);
        }
        let views: Vec<u32> =
            self.discovery.views.iter().filter(|v| v.cache.service() == sid).map(|v| v.count).collect();
        if !views.is_empty() {
            let mean = f64::from(views.iter().sum::<u32>()) / views.len() as f64;
            row.set_fixed(col::VIEW_MEAN, 3, mean);
        }
    }

    /// Writes the rows of the window from `start` to `end`: the total, routes, services
    /// (every attempt as the proxies see it), policy points (calls after the policy stack)
    /// and instances.
    // Over 80 lines: the five kinds of rows in file order, each a short loop.
    fn write_rows(
        &self,
        w: &mut csv::Writer<&mut dyn Write>,
        row: &mut Row,
        start: SimTime,
        end: SimTime,
    ) -> Result<(), RunError> {
        let sc = self.sc;
        let secs = end.since(start).as_secs_f64();
        let (s0, s1) = (fixed(3, start.as_secs_f64()), fixed(3, end.as_secs_f64()));
        let flows = std::iter::once((("total", "all"), &self.recorder.total))
            .chain(sc.gateway.routes.iter().map(|r| ("route", r.name.as_str())).zip(self.recorder.routes.iter()))
            .chain(sc.services.iter().map(|s| ("service", s.name.as_str())).zip(self.recorder.services.iter()));
        for ((scope, name), f) in flows {
            let l = &f.window_latency;
            // One pass over the histogram for the four percentiles.
            let [p50, p90, p95, p99] = l.quantiles_ms([0.5, 0.9, 0.95, 0.99]);
            row.start(&s0, &s1, scope, name)
                .counts(&f.window_counts, secs)
                .set_fixed(col::LATENCY_MEAN_MS, 3, l.mean_ms())
                .set_fixed(col::LATENCY_P50_MS, 3, p50)
                .set_fixed(col::LATENCY_P90_MS, 3, p90)
                .set_fixed(col::LATENCY_P95_MS, 3, p95)
                .set_fixed(col::LATENCY_P99_MS, 3, p99)
                .set_fixed(col::LATENCY_MAX_MS, 3, l.max_ms());
            if scope == "service" && self.discovery.lifecycle_on {
                self.discovery_cells(row, name);
            }
            if scope == "total" {
                row.set_fixed(col::WORK_S, 6, self.recorder.window_work_ns as f64 / 1e9).set_fixed(
                    col::GOODPUT_WORK_S,
                    6,
                    self.recorder.window_goodput_ns as f64 / 1e9,
                );
            }
            row.write(w)?;
        }
        // Breaker units open and half-open at the window's end, per policy point.
        let mut open = vec![0u32; self.recorder.points.len()];
        let mut half_open = vec![0u32; self.recorder.points.len()];
        for (p, b) in self.proxies.breakers.iter().enumerate() {
            let Some(b) = b else { continue };
            let i = self.recorder.proxy_point[p] as usize;
            for u in &b.units {
                match u.state() {
                    BreakerState::Open | BreakerState::ForcedOpen => open[i] += 1,
                    BreakerState::HalfOpen => half_open[i] += 1,
                    _ => {}
                }
            }
        }
        let has_breakers: Vec<bool> = {
            let mut v = vec![false; self.recorder.points.len()];
            for (p, b) in self.proxies.breakers.iter().enumerate() {
                v[self.recorder.proxy_point[p] as usize] |= b.is_some();
            }
            v
        };
        for (i, name) in self.recorder.point_names.iter().enumerate() {
            let c = &self.recorder.point_window[i];
            row.start(&s0, &s1, "call", name)
                .counts(&c.counts, secs)
                .set(col::ATTEMPTS, c.attempts)
                .set(col::RETRIES, c.retries)
                .set(col::RETRIES_DENIED, c.retries_denied)
                .set(col::HEDGES, c.hedges)
                .set(col::HEDGES_WON, c.hedges_won)
                .set(col::FALLBACKS, c.fallbacks)
                .set(col::DEFERRED, c.deferred)
                .set(col::EJECTIONS, c.ejections)
                .set(col::BREAKER_OPENS, c.breaker_opens)
                .set_fixed(col::RETRY_AMPLIFICATION, 4, c.amplification());
            if has_breakers[i] {
                row.set(col::BREAKERS_OPEN, u64::from(open[i])).set(col::BREAKERS_HALF_OPEN, u64::from(half_open[i]));
            }
            row.write(w)?;
        }
        for (inst, st) in sc.instances.iter().zip(self.stations.instances.iter()) {
            let t = &st.stats.window;
            let done = t.completed + t.errors;
            let ns = end.since(start).as_nanos() as f64;
            let per_ns = |area: u128| if ns > 0.0 { area as f64 / ns } else { 0.0 };
            row.start(&s0, &s1, "instance", inst.name.as_str())
                .set(col::REQUESTS, done + t.rejected)
                .set(col::OK, t.completed)
                .set(col::ERROR, t.errors)
                .set(col::TIMEOUT, 0)
                .set(col::REJECTED, t.rejected)
                .set(col::DROPPED, 0)
                .set(col::SHORT_CIRCUITED, 0)
                .set(col::OVERLOADED, 0)
                .set_fixed(col::THROUGHPUT_RPS, 3, if secs > 0.0 { done as f64 / secs } else { 0.0 })
                .set_fixed(col::LATENCY_MEAN_MS, 3, t.sojourn_mean_ms())
                .set_fixed(col::LATENCY_MAX_MS, 3, t.sojourn_max_ns as f64 / 1e6)
                .set_fixed(col::UTILIZATION, 4, t.utilization())
                .set_fixed(col::QUEUE_MEAN, 4, per_ns(t.area_queue))
                .set_fixed(col::IN_SYSTEM_MEAN, 4, per_ns(t.area_in_system));
            row.write(w)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::fixed;

    #[test]
    fn column_indices_match_the_header() {
        let header = super::TIMESERIES_HEADER;
        assert_eq!(header[super::col::REQUESTS], "requests");
        assert_eq!(header[super::col::GOODPUT_WORK_S], "goodput_work_s");
        assert_eq!(header[super::col::VIEW_MEAN], "view_mean");
        assert_eq!(super::col::VIEW_MEAN, header.len() - 1);
    }

    proptest::proptest! {
        /// A name cell is what the csv writer's default quoting makes of the name.
        #[test]
        fn names_are_quoted_as_the_csv_writer_quotes_them(name in "[a-z,\"\r\n é#-]{0,12}") {
            let mut expected = csv::Writer::from_writer(Vec::new());
            expected.write_record(["x", name.as_str(), "y"]).expect("writes to a Vec");
            let expected = String::from_utf8(expected.into_inner().expect("flushes")).expect("UTF-8");
            let mut cell = String::new();
            super::push_csv_field(&mut cell, &name);
            proptest::prop_assert_eq!(format!("x,{cell},y\n"), expected);
        }
    }

    #[test]
    fn integers_match_to_string() {
        for v in [0u64, 7, 10, 99, 100, 12_345, u64::from(u32::MAX), u64::MAX] {
            let mut s = String::from("x");
            super::push_u64(&mut s, v);
            assert_eq!(s, format!("x{v}"));
        }
    }

    #[test]
    fn fixed_point_matches_float_formatting_away_from_ties() {
        for x in [0.0, 0.0004, 0.0016, 1.0, 2.6, 12.345678, 999.9996, 1234.4, 1e9 + 0.3, 0.1 + 0.2, 8.9e8, 4.5e-7] {
            for d in [0u32, 1, 2, 3, 4, 5, 6, 7, 9] {
                assert_eq!(fixed(d, x), format!("{x:.*}", d as usize), "{x} to {d} places");
            }
        }
        // Ties round away from zero (the float formatter rounds the exact binary value).
        assert_eq!(fixed(3, 0.0005), "0.001");
        assert_eq!(fixed(3, f64::INFINITY), "inf");
    }
}

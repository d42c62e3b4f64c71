//! `report.html`: one self-contained page per run, built from the run folder alone.
//!
//! The page embeds its charts as `data:` URIs and its style inline, has no script, and
//! forbids every fetch by its content security policy, so it opens offline in any
//! browser and can be mailed as one file. Every text from the run is escaped. The page
//! depends only on the files in the folder, so `meshsim run` and `meshsim report` write
//! the same bytes.

use crate::charts::{self, ChartFile, Rendered};
use crate::plot::PlotError;
use crate::rundata::{Counts, Latency, RunData, RunDataError};
use base64::Engine;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// The page's file name in the run folder.
use crate::output::report_html::FILE;

/// At most this many breaker transitions and lifecycle events are listed; the page says
/// how many more the CSV files hold.
pub const ROWS_MAX: usize = 500;

/// Why the report of a run folder could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Data(#[from] RunDataError),
    #[error(transparent)]
    Plot(#[from] PlotError),
    #[error("cannot write {path}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("cannot read back {path}")]
    ReadBack { path: PathBuf, source: std::io::Error },
}

/// What [`write_report`] wrote.
pub struct Written {
    pub charts: Vec<Rendered>,
    pub page: PathBuf,
}

/// Reads the run folder `dir`, draws its charts beside its CSVs and writes `report.html`:
/// what `meshsim run` does after `summary.json`, and `meshsim report DIR` alone.
///
/// # Errors
/// A file of the run that is missing or malformed (the error names it), or a chart or
/// the page that cannot be written.
pub fn write_report(dir: &Path) -> Result<Written, ReportError> {
    let data = RunData::load(dir)?;
    let rendered = charts::render(&data, dir)?;
    let mut pngs = Vec::with_capacity(rendered.len());
    for r in &rendered {
        let png = match r.file {
            ChartFile::Written { .. } => {
                Some(std::fs::read(&r.path).map_err(|source| ReportError::ReadBack { path: r.path.clone(), source })?)
            }
            ChartFile::Skipped { .. } => None,
        };
        pngs.push(png);
    }
    let figures: Vec<Figure> =
        rendered.iter().zip(&pngs).map(|(r, png)| Figure { rendered: r, png: png.as_deref() }).collect();
    let page = page(&data, &figures);
    let path = dir.join(FILE);
    crate::output::write_atomic(&path, page.as_bytes())
        .map_err(|source| ReportError::Write { path: path.clone(), source })?;
    Ok(Written { charts: rendered, page: path })
}

/// Removes the charts and the page from `dir` (a run written without them), so none of
/// an earlier run's is left beside this run's files.
///
/// # Errors
/// If a file exists and cannot be removed.
pub fn remove_report(dir: &Path) -> Result<(), ReportError> {
    charts::remove_all(dir)?;
    let path = dir.join(FILE);
    crate::output::remove_stale(&path).map_err(|source| ReportError::Write { path, source })
}

/// A chart as the page shows it: its PNG bytes, or why it was left out.
pub struct Figure<'a> {
    pub rendered: &'a Rendered,
    pub png: Option<&'a [u8]>,
}

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;margin:0;color:#212121;background:#fafafa;line-height:1.4}
main{max-width:1260px;margin:0 auto;padding:16px 24px 48px}
h1{font-size:1.6em;margin:.4em 0 .2em}h2{font-size:1.25em;margin:1.6em 0 .5em;border-bottom:1px solid #ddd;padding-bottom:.2em}
nav{font-size:.9em;margin:.5em 0 1em}nav a{margin-right:1em;color:#1f77b4}
table{border-collapse:collapse;margin:.4em 0;background:#fff;font-size:.88em}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top;white-space:nowrap}
th{background:#f0f0f0;font-weight:600}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#1a7f37;font-weight:600}.fail{color:#c62828;font-weight:600}.muted{color:#757575}
.note{color:#616161;font-style:italic}
dl.meta{display:grid;grid-template-columns:max-content auto;gap:2px 16px;margin:.5em 0}dl.meta dt{color:#616161}dl.meta dd{margin:0}
figure{margin:1em 0 1.6em;background:#fff;border:1px solid #ddd;padding:8px;display:inline-block;max-width:calc(100% - 18px)}
figure img{max-width:100%;height:auto;display:block}figcaption{font-size:.9em;color:#616161;margin-top:4px}
.scroll{overflow-x:auto}
";

/// The whole page, from the run's data and its charts.
pub fn page(data: &RunData, figures: &[Figure]) -> String {
    let s = &data.summary;
    let mut h =
        String::with_capacity(64 * 1024 + figures.iter().filter_map(|f| f.png).map(|p| p.len() * 4 / 3).sum::<usize>());
    let title = format!("meshsim report: {}", s.scenario);
    h += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
    h += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">\n";
    h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
    let _ = writeln!(h, "<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>", escape(&title));
    let _ = writeln!(h, "<h1>{}</h1>", escape(&title));
    h += "<nav><a href=\"#run\">Run</a><a href=\"#slos\">SLOs</a><a href=\"#resilience\">Resilience</a>\
          <a href=\"#faults\">Faults</a><a href=\"#charts\">Charts</a><a href=\"#routes\">Routes</a>\
          <a href=\"#services\">Services</a><a href=\"#calls\">Policy points</a><a href=\"#instances\">Instances</a>\
          <a href=\"#transitions\">Breaker transitions</a><a href=\"#events\">Lifecycle events</a></nav>\n";
    run_header(&mut h, data);
    slos(&mut h, data);
    resilience(&mut h, data);
    faults(&mut h, data);
    charts_section(&mut h, figures);
    routes(&mut h, data);
    services(&mut h, data);
    calls(&mut h, data);
    instances(&mut h, data);
    transitions(&mut h, data);
    events(&mut h, data);
    let _ = writeln!(
        h,
        "<p class=\"muted\">Written by meshsim {} from the files of the run folder: {}. \
         <code>meshsim report DIR</code> writes it again.</p>",
        env!("CARGO_PKG_VERSION"),
        crate::rundata::INPUT_FILES.join(", ")
    );
    h += "</main>\n</body>\n</html>\n";
    h
}

fn int(n: u64) -> String {
    crate::output::thousands(n)
}

fn num(x: f64, decimals: usize) -> String {
    crate::output::fixed(x, decimals)
}

fn secs(x: Option<f64>, none: &str) -> String {
    x.map_or_else(|| format!("<span class=\"muted\">{none}</span>"), |v| format!("{} s", num(v, 3)))
}

fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| "<span class=\"muted\">—</span>".to_string(), |v| format!("{} %", num(v, 3)))
}

fn share(part: u64, total: u64) -> Option<f64> {
    (total > 0).then(|| 100.0 * part as f64 / total as f64)
}

/// A table: a header row, then rows of cells already in HTML; `numeric` says which
/// columns are right-aligned.
fn table(h: &mut String, header: &[&str], numeric: &[bool], rows: &[Vec<String>]) {
    h.push_str("<div class=\"scroll\"><table>\n<thead><tr>");
    for (i, c) in header.iter().enumerate() {
        let class = if numeric.get(i).copied().unwrap_or(false) { " class=\"n\"" } else { "" };
        let _ = write!(h, "<th{class}>{}</th>", escape(c));
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        h.push_str("<tr>");
        for (i, c) in row.iter().enumerate() {
            let class = if numeric.get(i).copied().unwrap_or(false) { " class=\"n\"" } else { "" };
            let _ = write!(h, "<td{class}>{c}</td>");
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody></table></div>\n");
}

fn run_header(h: &mut String, data: &RunData) {
    let s = &data.summary;
    let stop = match &s.stop.message {
        Some(m) => format!("<span class=\"fail\">{}</span>: {}", escape(&s.stop.reason), escape(m)),
        None => escape(&s.stop.reason),
    };
    let slos_failed = s.slos.iter().filter(|v| !v.pass).count();
    let verdict = if s.slos.is_empty() {
        "<span class=\"muted\">none</span>".to_string()
    } else if slos_failed == 0 {
        format!("<span class=\"pass\">all {} passed</span>", s.slos.len())
    } else {
        format!("<span class=\"fail\">{slos_failed} of {} failed</span>", s.slos.len())
    };
    let items = [
        ("scenario", escape(&s.scenario)),
        ("seed", s.seed.to_string()),
        ("stop", stop),
        ("simulated time", format!("{} s", num(s.simulated_s, 3))),
        (
            "measured interval",
            format!("{} s (after a warm-up of {} s, to the end of arrivals)", num(s.measured_s, 3), num(s.warmup_s, 3)),
        ),
        ("events", int(s.events)),
        ("requests", counts_line(&s.requests)),
        ("availability", format!("{} %", num(s.availability_pct, 4))),
        ("throughput", format!("{} requests/s", num(s.throughput_rps, 3))),
        ("latency", latency_line(&s.latency_ms)),
        ("SLOs", verdict),
    ];
    h.push_str("<section id=\"run\"><h2>Run</h2>\n<dl class=\"meta\">\n");
    for (k, v) in items {
        let _ = writeln!(h, "<dt>{k}</dt><dd>{v}</dd>");
    }
    h.push_str("</dl></section>\n");
}

fn counts_line(c: &Counts) -> String {
    let mut s = format!("{} in total: {} ok, {} failed", int(c.total), int(c.ok), int(c.failed));
    let parts: Vec<String> = [
        ("error", c.error),
        ("timeout", c.timeout),
        ("rejected", c.rejected),
        ("dropped", c.dropped),
        ("short-circuited", c.short_circuited),
        ("overloaded", c.overloaded),
    ]
    .iter()
    .filter(|(_, n)| *n > 0)
    .map(|(k, n)| format!("{} {k}", int(*n)))
    .collect();
    if !parts.is_empty() {
        let _ = write!(s, " ({})", parts.join(", "));
    }
    if let Some(n) = c.in_flight.filter(|&n| n > 0) {
        let _ = write!(s, "; {} still in flight", int(n));
    }
    s
}

fn latency_line(l: &Latency) -> String {
    format!(
        "mean {} ms, p50 {} ms, p95 {} ms, p99 {} ms, p99.9 {} ms, max {} ms",
        num(l.mean, 3),
        num(l.p50, 3),
        num(l.p95, 3),
        num(l.p99, 3),
        num(l.p999, 3),
        num(l.max, 3)
    )
}

fn slos(h: &mut String, data: &RunData) {
    h.push_str("<section id=\"slos\"><h2>Service-level objectives</h2>\n");
    let v = &data.summary.slos;
    if v.is_empty() {
        h.push_str("<p class=\"note\">This run has no SLOs (add them in the scenario's <code>slos</code> or with <code>--slo</code>).</p></section>\n");
        return;
    }
    let rows: Vec<Vec<String>> = v
        .iter()
        .map(|s| {
            let verdict = if s.pass { "<span class=\"pass\">pass</span>" } else { "<span class=\"fail\">FAIL</span>" };
            let measured = s.measured.map_or_else(
                || "<span class=\"muted\">no requests</span>".to_string(),
                |m| format!("{} {}", num(m, 4), escape(&s.unit)),
            );
            let recoveries: Vec<String> = s
                .recoveries
                .iter()
                .map(|r| {
                    let after = r.recovery_s.map_or("never".to_string(), |x| format!("{} s", num(x, 3)));
                    format!("fault ended {} s: {after}", num(r.fault_end_s, 3))
                })
                .collect();
            vec![
                verdict.to_string(),
                escape(&s.threshold),
                s.route.as_deref().map_or("<span class=\"muted\">all</span>".to_string(), escape),
                measured,
                s.recovery_within_s.map_or("—".to_string(), |x| format!("{} s", num(x, 3))),
                if recoveries.is_empty() { "—".to_string() } else { escape(&recoveries.join("; ")) },
            ]
        })
        .collect();
    table(
        h,
        &["verdict", "threshold", "route", "measured", "recovery within", "recovery after faults"],
        &[false, false, false, true, true, false],
        &rows,
    );
    h.push_str("</section>\n");
}

fn resilience(h: &mut String, data: &RunData) {
    let s = &data.summary;
    let r = &s.resilience;
    let items = [
        ("availability during faults", pct(r.availability_during_faults_pct)),
        ("availability outside faults", pct(r.availability_outside_faults_pct)),
        ("baseline availability (before the first fault)", pct(r.baseline_availability_pct)),
        ("peak retry amplification (one point, one window)", num(r.peak_retry_amplification, 4)),
        ("work done", format!("{} worker-s", num(s.work.work_s, 3))),
        ("goodput (work behind ok answers)", format!("{} worker-s", num(s.work.goodput_work_s, 3))),
        ("goodput ratio", format!("{} %", num(100.0 * s.work.goodput_ratio, 2))),
        ("wasted work (answers nobody waited for)", format!("{} worker-s", num(r.wasted_work_s, 3))),
    ];
    h.push_str("<section id=\"resilience\"><h2>Resilience scores</h2>\n<dl class=\"meta\">\n");
    for (k, v) in items {
        let _ = writeln!(h, "<dt>{k}</dt><dd>{v}</dd>");
    }
    h.push_str("</dl></section>\n");
}

fn faults(h: &mut String, data: &RunData) {
    h.push_str("<section id=\"faults\"><h2>Faults</h2>\n");
    let f = &data.summary.resilience.faults;
    if f.is_empty() {
        h.push_str("<p class=\"note\">This run has no faults.</p></section>\n");
        return;
    }
    let rows: Vec<Vec<String>> = f
        .iter()
        .map(|w| {
            vec![
                w.fault.to_string(),
                escape(&w.kind),
                escape(&w.target),
                format!("{} s", num(w.start_s, 3)),
                secs(w.end_s, "end of run"),
                secs(w.detect_s, "not detected"),
                secs(w.recover_s, if w.end_s.is_some() { "never" } else { "—" }),
            ]
        })
        .collect();
    table(
        h,
        &["fault", "kind", "target", "start", "end", "detected after", "recovered after"],
        &[true, false, false, true, true, true, true],
        &rows,
    );
    h.push_str(
        "<p class=\"muted\">Detection: from the start to the first breaker opening, outlier ejection or failed health \
         check. Recovery: from the end to the first window back at 99 % of the baseline availability.</p></section>\n",
    );
}

fn charts_section(h: &mut String, figures: &[Figure]) {
    h.push_str("<section id=\"charts\"><h2>Charts</h2>\n");
    h.push_str(
        "<p class=\"muted\">Per time-series window; fault windows shaded red and labelled, the warm-up grey. \
         Each chart is also a PNG file in the run folder.</p>\n",
    );
    for f in figures {
        let c = f.rendered.chart;
        match (f.rendered.file, f.png) {
            (ChartFile::Written { width: w, height: hgt }, Some(png)) => {
                let b64 = base64::engine::general_purpose::STANDARD.encode(png);
                let _ = writeln!(
                    h,
                    "<figure id=\"chart-{id}\"><img src=\"data:image/png;base64,{b64}\" width=\"{w}\" height=\"{hgt}\" \
                     alt=\"{t}\"><figcaption>{t} ({file})</figcaption></figure>",
                    id = escape(c.file.trim_end_matches(".png")),
                    t = escape(c.title),
                    file = escape(c.file),
                );
            }
            (ChartFile::Skipped { .. }, _) if c.optional => {}
            (file, _) => {
                let reason = match file {
                    ChartFile::Skipped { reason } => reason,
                    ChartFile::Written { .. } => "no image",
                };
                let _ = writeln!(
                    h,
                    "<p class=\"note\">No chart of {}: {}.</p>",
                    escape(&c.title.to_lowercase()),
                    escape(reason)
                );
            }
        }
    }
    h.push_str("</section>\n");
}

fn routes(h: &mut String, data: &RunData) {
    h.push_str("<section id=\"routes\"><h2>Routes</h2>\n");
    let rows: Vec<Vec<String>> = data
        .summary
        .routes
        .iter()
        .map(|(name, f)| {
            let mut row = vec![escape(name), f.destination.as_deref().map_or(String::new(), escape)];
            row.extend(flow_cells(&f.requests, f.availability_pct, f.throughput_rps, &f.latency_ms));
            row
        })
        .collect();
    table(h, &FLOW_HEADER_ROUTE, &FLOW_NUMERIC_ROUTE, &rows);
    h.push_str("</section>\n");
}

const FLOW_HEADER_ROUTE: [&str; 11] = [
    "route",
    "destination",
    "requests",
    "ok",
    "failed",
    "availability",
    "throughput (req/s)",
    "p50 (ms)",
    "p95 (ms)",
    "p99 (ms)",
    "max (ms)",
];
const FLOW_NUMERIC_ROUTE: [bool; 11] = [false, false, true, true, true, true, true, true, true, true, true];

fn flow_cells(c: &Counts, availability: f64, rps: f64, l: &Latency) -> Vec<String> {
    vec![
        int(c.total),
        int(c.ok),
        int(c.failed),
        format!("{} %", num(availability, 3)),
        num(rps, 2),
        num(l.p50, 3),
        num(l.p95, 3),
        num(l.p99, 3),
        num(l.max, 3),
    ]
}

fn services(h: &mut String, data: &RunData) {
    h.push_str("<section id=\"services\"><h2>Services</h2>\n");
    h.push_str("<p class=\"muted\">Every attempt as the callers' proxies see it; utilisation and queue over the service's instances together.</p>\n");
    let rows: Vec<Vec<String>> = data
        .summary
        .services
        .iter()
        .map(|(name, s)| {
            let mut row = vec![escape(name)];
            row.extend(flow_cells(&s.requests, s.availability_pct, s.throughput_rps, &s.latency_ms));
            row.push(format!("{} %", num(100.0 * s.server.utilization, 2)));
            row.push(num(s.server.queue_mean, 3));
            row.push(int(s.server.rejected));
            row
        })
        .collect();
    table(
        h,
        &[
            "service",
            "attempts",
            "ok",
            "failed",
            "availability",
            "throughput (req/s)",
            "p50 (ms)",
            "p95 (ms)",
            "p99 (ms)",
            "max (ms)",
            "utilisation",
            "queue (jobs)",
            "refused",
        ],
        &[false, true, true, true, true, true, true, true, true, true, true, true, true],
        &rows,
    );
    h.push_str("</section>\n");
}

fn calls(h: &mut String, data: &RunData) {
    h.push_str("<section id=\"calls\"><h2>Policy points</h2>\n");
    h.push_str("<p class=\"muted\">Calls after each caller's policy stack (caller → destination), over the measured interval.</p>\n");
    let rows: Vec<Vec<String>> = data
        .summary
        .calls
        .iter()
        .map(|(name, c)| {
            let r = &c.requests;
            vec![
                escape(name),
                int(r.total),
                pct(share(r.ok, r.total)),
                int(c.attempts),
                int(c.retries),
                int(c.retries_denied_by_budget),
                num(c.retry_amplification, 4),
                int(r.timeout),
                int(r.short_circuited),
                int(r.overloaded),
                int(c.breaker_opens),
                int(c.ejections),
                format!("{} ({} deferred)", int(c.fallbacks), int(c.deferred.total)),
                format!("{} ({} won)", int(c.hedges), int(c.hedges_won)),
            ]
        })
        .collect();
    table(
        h,
        &[
            "policy point",
            "calls",
            "ok",
            "attempts",
            "retries",
            "retries denied",
            "amplification",
            "timeouts",
            "short-circuited",
            "overloaded",
            "breaker opens",
            "ejections",
            "fallbacks",
            "hedges",
        ],
        &[false, true, true, true, true, true, true, true, true, true, true, true, true, true],
        &rows,
    );
    h.push_str("</section>\n");
}

fn instances(h: &mut String, data: &RunData) {
    h.push_str("<section id=\"instances\"><h2>Instances</h2>\n");
    let rows: Vec<Vec<String>> = data
        .summary
        .instances
        .iter()
        .map(|(name, s)| {
            vec![
                escape(name),
                s.service.as_deref().map_or(String::new(), escape),
                s.zone.as_deref().map_or(String::new(), escape),
                int(s.workers),
                int(s.arrivals),
                int(s.completed),
                int(s.errors),
                int(s.rejected),
                format!("{} %", num(100.0 * s.utilization, 2)),
                num(s.queue_mean, 3),
                num(s.sojourn_ms_mean, 3),
                num(s.sojourn_ms_max, 3),
                int(s.sent_to_dead),
                int(s.lost_in_crash),
            ]
        })
        .collect();
    table(
        h,
        &[
            "instance",
            "service",
            "zone",
            "workers",
            "arrivals",
            "completed",
            "errors",
            "refused",
            "utilisation",
            "queue (jobs)",
            "sojourn mean (ms)",
            "sojourn max (ms)",
            "sent while down",
            "lost in crash",
        ],
        &[false, false, false, true, true, true, true, true, true, true, true, true, true, true],
        &rows,
    );
    h.push_str("</section>\n");
}

/// The "showing the first N" note of a capped list.
fn capped(h: &mut String, total: usize, file: &str) {
    if total > ROWS_MAX {
        let _ = writeln!(
            h,
            "<p class=\"note\">Showing the first {} of {} rows; {file} in the run folder has them all.</p>",
            int(ROWS_MAX as u64),
            int(total as u64)
        );
    }
}

fn transitions(h: &mut String, data: &RunData) {
    h.push_str("<section id=\"transitions\"><h2>Breaker transitions and outlier ejections</h2>\n");
    let t = &data.transitions;
    if t.is_empty() {
        h.push_str(
            "<p class=\"note\">No circuit breaker changed state and no host was ejected in this run.</p></section>\n",
        );
        return;
    }
    capped(h, t.len(), crate::output::transitions::FILE);
    let rows: Vec<Vec<String>> = t
        .iter()
        .take(ROWS_MAX)
        .map(|t| {
            vec![
                num(t.time_s, 6),
                escape(&t.caller),
                escape(&t.destination),
                escape(&t.scope),
                escape(&t.unit),
                escape(t.from.name()),
                escape(t.to.name()),
                escape(&t.cause),
            ]
        })
        .collect();
    table(
        h,
        &["time (s)", "caller", "destination", "scope", "unit", "from", "to", "cause"],
        &[true, false, false, false, false, false, false, false],
        &rows,
    );
    h.push_str("</section>\n");
}

fn events(h: &mut String, data: &RunData) {
    h.push_str("<section id=\"events\"><h2>Lifecycle events</h2>\n");
    let e = &data.events;
    if e.is_empty() {
        h.push_str("<p class=\"note\">No lifecycle events in this run.</p></section>\n");
        return;
    }
    capped(h, e.len(), crate::output::events::FILE);
    let rows: Vec<Vec<String>> = e
        .iter()
        .take(ROWS_MAX)
        .map(|e| vec![num(e.time_s, 6), escape(&e.instance), escape(&e.service), escape(&e.event), escape(&e.detail)])
        .collect();
    table(h, &["time (s)", "instance", "service", "event", "detail"], &[true, false, false, false, false], &rows);
    h.push_str("</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(escape(r#"<a href="x">'&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
        assert_eq!(escape("order->payment"), "order-&gt;payment");
    }

    #[test]
    fn int_groups_thousands() {
        assert_eq!(int(0), "0");
        assert_eq!(int(999), "999");
        assert_eq!(int(1000), "1,000");
        assert_eq!(int(90024), "90,024");
        assert_eq!(int(1234567), "1,234,567");
    }

    #[test]
    fn num_has_no_negative_zero() {
        assert_eq!(num(-0.0001, 3), "0.000");
        assert_eq!(num(-1.5, 1), "-1.5");
    }
}

//! `breakers.png`: circuit-breaker states over time. Above, one band per breaker unit
//! that changed state (from `transitions.csv`: closed, open, half-open; and hosts an
//! outlier detector ejected, which the same file records); below, per policy point, the
//! units open and half-open at each window's end (the `call` rows).

use super::frame::{self, Area, Drawn, Legend, MUTED, PANEL, PanelLayout, Swatch, Timeline};
use crate::rundata::{GuardState, RunData, Transition};
use indexmap::IndexMap;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Above this many units the per-unit timeline is left out (the counts remain).
pub(super) const UNITS_MAX: usize = 24;

fn state_color(s: &GuardState) -> RGBColor {
    match s {
        GuardState::Closed | GuardState::Healthy => RGBColor(171, 221, 164),
        GuardState::Open => RGBColor(215, 48, 39),
        GuardState::HalfOpen => RGBColor(253, 174, 97),
        GuardState::ForcedOpen => RGBColor(140, 20, 20),
        GuardState::Ejected => RGBColor(128, 90, 190),
        GuardState::Disabled | GuardState::MetricsOnly | GuardState::Other(_) => RGBColor(200, 200, 200),
    }
}

/// Which layer a state's spans are drawn in: refusing states over closed ones, and
/// half-open moments (often a few milliseconds) over the open spans around them.
fn layer(s: &GuardState) -> usize {
    match s {
        GuardState::Open | GuardState::ForcedOpen | GuardState::Ejected => 1,
        GuardState::HalfOpen => 2,
        _ => 0,
    }
}

/// How the legend names a state.
fn state_label(s: &GuardState) -> String {
    match s {
        GuardState::Closed => "closed".into(),
        GuardState::Healthy => "healthy (outlier detection)".into(),
        GuardState::Ejected => "ejected (outlier detection)".into(),
        other => other.name().to_lowercase().replace('_', "-"),
    }
}

/// The breaker units (and hosts an outlier detector ejected) that changed state, each
/// with its transitions in time order, ordered by policy point (as in `summary.json`),
/// then label.
fn units(data: &RunData) -> Vec<(String, Vec<&Transition>)> {
    let mut by_unit: IndexMap<(&str, &str, &str, &str, bool), Vec<&Transition>> = IndexMap::new();
    for t in &data.transitions {
        let outlier = t.from.is_outlier() || t.to.is_outlier();
        by_unit.entry((&t.caller, &t.destination, &t.scope, &t.unit, outlier)).or_default().push(t);
    }
    let point_rank = |t: &Transition| data.summary.calls.get_index_of(&data.policy_point(t)).unwrap_or(usize::MAX);
    let mut out: Vec<(usize, String, Vec<&Transition>)> = by_unit
        .into_iter()
        .map(|((caller, dest, _, unit, outlier), ts)| {
            let label = match (outlier, unit == dest) {
                (true, _) => format!("{caller} → {unit} (outlier)"),
                (false, true) => format!("{caller} → {dest}"),
                (false, false) => format!("{caller} → {dest}/{unit}"),
            };
            (point_rank(ts[0]), label, ts)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    out.into_iter().map(|(_, l, ts)| (l, ts)).collect()
}

/// The policy points with a breaker (their `call` rows have breaker columns).
fn points(data: &RunData) -> Vec<&str> {
    let ts = &data.series;
    ts.calls
        .iter()
        .filter(|(_, rows)| rows.iter().any(|r| r.breakers_open.is_some()))
        .map(|(n, _)| n.as_str())
        .collect()
}

pub(super) fn skip(data: &RunData) -> Option<&'static str> {
    if data.transitions.is_empty() && points(data).is_empty() {
        Some("no circuit breakers and no outlier ejections in this run")
    } else {
        None
    }
}

pub(super) fn size(_: &RunData) -> (u32, u32) {
    (frame::WIDTH, frame::HEIGHT)
}

// Over 80 lines: plotters' builder calls for the breaker timeline (lanes, states, legend).
pub(super) fn draw(data: &RunData, root: &Area) -> Drawn {
    let tl = Timeline::of(data);
    let units = units(data);
    let points = points(data);
    let timeline = !units.is_empty() && units.len() <= UNITS_MAX;
    let mut legend = Legend::new();
    if timeline {
        // The states drawn, in the order they first appear.
        let mut states: Vec<&GuardState> = Vec::new();
        for (_, ts) in &units {
            for s in std::iter::once(&ts[0].from).chain(ts.iter().map(|t| &t.to)) {
                if !states.contains(&s) {
                    states.push(s);
                }
            }
        }
        for s in states {
            legend.add(Swatch::Fill(state_color(s)), state_label(s));
        }
    }
    for (i, p) in points.iter().enumerate() {
        legend.add(Swatch::Line(frame::series_color(i)), format!("{p} open"));
    }
    if !points.is_empty() {
        legend.add(Swatch::Dashed(MUTED), "half-open (same colour)");
    }
    legend.add_time_marks(&tl);
    let outliers = units.iter().any(|(_, ts)| ts[0].from.is_outlier() || ts[0].to.is_outlier());
    let what = match (outliers, points.is_empty()) {
        (true, false) => "Circuit breakers and outlier ejections",
        (true, true) => "Outlier ejections",
        (false, _) => "Circuit breakers",
    };
    let title = match (timeline, points.is_empty()) {
        (true, false) => format!("{what}: state of each unit, and breaker units open per policy point"),
        (true, true) => format!("{what}: state of each unit"),
        (false, _) => format!(
            "{what}: breaker units open per policy point ({} units changed state: see transitions.csv)",
            units.len()
        ),
    };
    let body = frame::header(root, &title, data, &legend)?;

    // One label width for both panels, so their time axes line up.
    let label_style = frame::text(12);
    let mut left = PANEL.left;
    if timeline {
        for (label, _) in &units {
            left = left.max(root.estimate_text_size(label, &label_style)?.0 + 16);
        }
    }
    let (_, h) = body.dim_in_pixel();
    let (top, bottom) = if timeline && !points.is_empty() {
        let share = (76 + 26 * units.len() as u32).min(h * 58 / 100);
        let (a, b) = body.split_vertically(share);
        (Some(a), Some(b))
    } else if timeline {
        (Some(body), None)
    } else {
        (None, Some(body))
    };

    if let Some(area) = &top {
        let n = units.len() as f64;
        // A row of headroom above the bands for the fault labels.
        // Rows from the top, never taller than a tenth of a tall panel.
        let y_top = (n + 0.9).max(if bottom.is_none() { 10.0 } else { 0.0 });
        let row = |i: usize| y_top - 0.9 - i as f64;
        let layout = PanelLayout { left, y_labels: 0, time_title: bottom.is_none(), ..PANEL };
        let mut chart = frame::time_panel(area, &tl, 0.0..y_top, "", &|_: &f64| String::new(), layout)?;
        let plot_w = f64::from(chart.plotting_area().dim_in_pixel().0.max(1));
        let min_w = 2.0 * tl.end_s / plot_w; // open and half-open stay visible, however short
        // Spans by state, drawn closed first and half-open last, so that a half-open
        // moment of a few milliseconds shows over the open span around it.
        let mut spans: [Vec<Rectangle<(f64, f64)>>; 3] = Default::default();
        for (i, (_, ts)) in units.iter().enumerate() {
            let (y0, y1) = (row(i) - 0.85, row(i) - 0.15);
            let mut push = |from: f64, to: f64, s: &GuardState| {
                let layer = layer(s);
                let to = if layer > 0 { to.max(from + min_w) } else { to };
                spans[layer].push(Rectangle::new([(from, y0), (to, y1)], state_color(s).filled()));
            };
            let mut state = &ts[0].from;
            let mut since = 0.0;
            for t in ts {
                push(since, t.time_s, state);
                state = &t.to;
                since = t.time_s;
            }
            push(since, tl.end_s, state);
        }
        for layer in spans {
            chart.draw_series(layer)?;
        }
        let style = label_style.pos(Pos::new(HPos::Right, VPos::Center));
        for (i, (label, _)) in units.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(0.0, row(i) - 0.5));
            root.draw_text(label, &style, (x - 8, y))?;
        }
        frame::label_windows(&chart, &tl)?;
    }

    if let Some(area) = bottom {
        let ts = &data.series;
        let max = points
            .iter()
            .flat_map(|p| &ts.calls[*p])
            .map(|r| r.breakers_open.unwrap_or(0).max(r.breakers_half_open.unwrap_or(0)))
            .max()
            .unwrap_or(0);
        let fmt = |v: &f64| if (v - v.round()).abs() < 1e-9 { format!("{v:.0}") } else { String::new() };
        let y_max = (max as f64 + 1.0).max(2.0);
        let layout = PanelLayout { left, ..PANEL };
        let mut chart = frame::time_panel(&area, &tl, 0.0..y_max, "breaker units", &fmt, layout)?;
        for (i, p) in points.iter().enumerate() {
            let color = frame::series_color(i);
            let rows = &ts.calls[*p];
            let open: Vec<_> = rows.iter().map(|r| r.breakers_open.map(|v| (ts.windows[r.window], v as f64))).collect();
            let half: Vec<_> =
                rows.iter().map(|r| r.breakers_half_open.map(|v| (ts.windows[r.window], v as f64))).collect();
            frame::draw_gapped(&mut chart, &frame::steps(&open), color.stroke_width(2))?;
            frame::draw_dashed(&mut chart, &frame::steps(&half), color.stroke_width(2))?;
        }
        if top.is_none() {
            frame::label_windows(&chart, &tl)?;
        }
    }
    Ok(())
}

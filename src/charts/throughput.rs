//! `throughput.png`: requests per second at the gateway (all and ok), and below, the
//! failed ones per second stacked by outcome, per window.

use super::frame::{self, Area, Drawn, Legend, PANEL, PanelLayout, Swatch, Timeline};
use crate::rundata::RunData;
use plotters::prelude::*;

const TOTAL: RGBColor = RGBColor(170, 170, 170);
const OK: RGBColor = RGBColor(44, 160, 44);

/// The colour of each failed outcome, in `Outcomes::failures` order.
pub(super) const FAILURES: [(&str, RGBColor); 6] = [
    ("error", RGBColor(214, 39, 40)),
    ("timeout", RGBColor(255, 127, 14)),
    ("rejected", RGBColor(148, 103, 189)),
    ("dropped", RGBColor(140, 86, 75)),
    ("short-circuited", RGBColor(227, 119, 194)),
    ("overloaded", RGBColor(188, 189, 34)),
];

pub(super) fn skip(data: &RunData) -> Option<&'static str> {
    if data.series.total.is_empty() { Some("no total rows in timeseries.csv") } else { None }
}

pub(super) fn size(_: &RunData) -> (u32, u32) {
    (frame::WIDTH, frame::HEIGHT)
}

pub(super) fn draw(data: &RunData, root: &Area) -> Drawn {
    let tl = Timeline::of(data);
    let ts = &data.series;
    let per_s = |n: u64, w: usize| {
        let win = ts.windows[w];
        let d = win.end_s - win.start_s;
        if d > 0.0 { n as f64 / d } else { 0.0 }
    };
    let present: Vec<usize> =
        (0..FAILURES.len()).filter(|&k| ts.total.iter().any(|r| r.outcomes.failures()[k].1 > 0)).collect();
    let mut legend = Legend::new();
    legend.add(Swatch::Line(TOTAL), "all requests");
    legend.add(Swatch::Line(OK), "ok");
    for &k in &present {
        legend.add(Swatch::Fill(FAILURES[k].1), FAILURES[k].0);
    }
    legend.add_time_marks(&tl);
    let body = frame::header(root, "Throughput and failures by outcome, at the gateway", data, &legend)?;
    let (_, h) = body.dim_in_pixel();
    let (top, bottom) = body.split_vertically(h * 52 / 100);

    let max = ts.total.iter().map(|r| per_s(r.outcomes.requests, r.window)).fold(0.0, f64::max);
    let fmt = |v: &f64| frame::format_tick(*v);
    let layout = PanelLayout { time_title: false, ..PANEL };
    let mut chart = frame::time_panel(&top, &tl, 0.0..frame::nice_max(max, 1.0), "requests / s", &fmt, layout)?;
    // All requests drawn wide under the ok line: where they part, requests failed.
    for (color, width, get) in [(TOTAL, 5, 0), (OK, 2, 1)] {
        let points: Vec<Option<(f64, f64)>> = ts
            .total
            .iter()
            .map(|r| {
                let n = if get == 0 { r.outcomes.requests } else { r.outcomes.ok };
                Some((ts.windows[r.window].mid_s(), per_s(n, r.window)))
            })
            .collect();
        frame::draw_gapped(&mut chart, &points, color.stroke_width(width))?;
    }
    frame::label_windows(&chart, &tl)?;

    let failed_max =
        ts.total.iter().map(|r| per_s(r.outcomes.failures().iter().map(|f| f.1).sum(), r.window)).fold(0.0, f64::max);
    let layout = PANEL;
    let mut chart =
        frame::time_panel(&bottom, &tl, 0.0..frame::nice_max(failed_max, 1.0), "failed requests / s", &fmt, layout)?;
    if present.is_empty() {
        return frame::note(&chart.plotting_area().strip_coord_spec(), "no failed requests");
    }
    let mut bars = Vec::new();
    for r in &ts.total {
        let w = ts.windows[r.window];
        let mut base = 0.0;
        for (k, (_, n)) in r.outcomes.failures().into_iter().enumerate() {
            if n == 0 {
                continue;
            }
            let top = base + per_s(n, r.window);
            bars.push(Rectangle::new([(w.start_s, base), (w.end_s, top)], FAILURES[k].1.filled()));
            base = top;
        }
    }
    chart.draw_series(bars)?;
    Ok(())
}

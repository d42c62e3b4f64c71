//! `latency.png`: p50, p95 and p99 of each route per window, one panel per route on a
//! shared logarithmic scale, so routes compare at a glance and a timeout's plateau
//! shows beside a fast route's milliseconds.

use super::frame::{self, Area, Drawn, Legend, PanelLayout, Swatch, Timeline};
use crate::rundata::{Percentiles, RunData};
use plotters::prelude::*;

const PERCENTILES: [(&str, fn(&Percentiles) -> f64, RGBColor); 3] = [
    ("p50", |p| p.p50, RGBColor(31, 119, 180)),
    ("p95", |p| p.p95, RGBColor(255, 127, 14)),
    ("p99", |p| p.p99, RGBColor(214, 39, 40)),
];

fn grid(routes: usize) -> (usize, usize) {
    let cols = match routes {
        0 | 1 => 1,
        2..=4 => 2,
        _ => 3,
    };
    (routes.div_ceil(cols).max(1), cols)
}

pub(super) fn skip(data: &RunData) -> Option<&'static str> {
    let any = data.series.routes.values().flatten().any(|r| r.latency.is_some());
    if any { None } else { Some("no request ended on any route") }
}

/// 1200 x 600 for up to two rows of panels (six routes), 265 px more per further row.
pub(super) fn size(data: &RunData) -> (u32, u32) {
    let (rows, _) = grid(data.series.routes.len());
    (frame::WIDTH, frame::HEIGHT.max(70 + 265 * rows as u32))
}

pub(super) fn draw(data: &RunData, root: &Area) -> Drawn {
    let tl = Timeline::of(data);
    let mut legend = Legend::new();
    for (name, _, color) in PERCENTILES {
        legend.add(Swatch::Line(color), name);
    }
    legend.add_time_marks(&tl);
    let body = frame::header(root, "Request latency by route: p50, p95, p99 per window", data, &legend)?;

    let all = data.series.routes.values().flatten().filter_map(|r| r.latency.as_ref());
    let (mut lo, mut hi) = (f64::INFINITY, 0.0f64);
    for p in all {
        for (_, get, _) in PERCENTILES {
            let v = get(p);
            if v > 0.0 {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
    }
    if hi <= 0.0 {
        return frame::note(&body, "no latency above 0 ms");
    }
    let (lo, hi) = ((lo / 1.6).max(1e-3), (hi * 3.0).max(lo * 10.0));

    let (rows, cols) = grid(data.series.routes.len());
    let panels = body.split_evenly((rows, cols));
    for (i, (name, series)) in data.series.routes.iter().enumerate() {
        let area = &panels[i];
        let (caption, plot) = area.split_vertically(22);
        let summary = data.summary.routes.get(name);
        let title = match summary {
            Some(s) => format!(
                "{name}: {} requests, p99 {} ms over the run",
                super::thousands(s.requests.total),
                frame::format_tick(s.latency_ms.p99)
            ),
            None => name.clone(),
        };
        caption.draw_text(&title, &frame::text(14), (10, 4))?;
        let layout = PanelLayout { left: 62, right: 14, time_title: i + cols >= data.series.routes.len(), y_labels: 6 };
        let fmt = |v: &f64| if *v >= 1.0 { format!("{v:.0}") } else { format!("{v:.2}") };
        let mut chart = frame::time_panel(&plot, &tl, (lo..hi).log_scale(), "latency (ms, log)", &fmt, layout)?;
        if series.iter().all(|r| r.latency.is_none()) {
            frame::note(&chart.plotting_area().strip_coord_spec(), "no requests ended")?;
            frame::label_windows(&chart, &tl)?;
            continue;
        }
        for (_, get, color) in PERCENTILES {
            let points: Vec<Option<(f64, f64)>> = series
                .iter()
                .map(|r| {
                    r.latency.as_ref().map(get).filter(|v| *v > 0.0).map(|v| (data.series.windows[r.window].mid_s(), v))
                })
                .collect();
            frame::draw_gapped(&mut chart, &points, color.stroke_width(2))?;
        }
        frame::label_windows(&chart, &tl)?;
    }
    Ok(())
}

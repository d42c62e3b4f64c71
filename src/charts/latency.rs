//! `latency.png`: p50, p95 and p99 of each route per window, one panel per route on a
//! shared logarithmic scale, so routes compare at a glance and a timeout's plateau
//! shows beside a fast route's milliseconds.

use super::frame::{self, Area, Drawn, Legend, PanelLayout, Swatch, Timeline};
use crate::rundata::{Percentiles, RunData};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// A percentile: its name, where it is in a window's latency, and its colour.
type Percentile = (&'static str, fn(&Percentiles) -> f64, RGBColor);

const PERCENTILES: [Percentile; 3] = [
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

/// Round values between `lo` and `hi` for a logarithmic axis: 1, 2, 5 per decade, or
/// more per decade on a narrow range, or fewer on a wide one; three to nine of them.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let (e0, e1) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let with = |mantissas: &[f64]| -> Vec<f64> {
        (e0..=e1)
            .flat_map(|e| mantissas.iter().map(move |m| m * 10f64.powi(e)))
            .filter(|v| *v >= lo && *v <= hi)
            .collect()
    };
    let sets: [&[f64]; 5] = [
        &[1.0],
        &[1.0, 3.0],
        &[1.0, 2.0, 5.0],
        &[1.0, 2.0, 3.0, 5.0, 7.0],
        &[1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
    ];
    let mut best = with(sets[0]);
    for set in sets {
        let ticks = with(set);
        if ticks.len() > 9 {
            break;
        }
        best = ticks;
        if best.len() >= 4 {
            break;
        }
    }
    best
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
    // Headroom above for the fault labels; at least a factor of 4 between the ends.
    let (lo, hi) = ((lo / 1.4).max(1e-3), (hi * 2.5).max(lo * 4.0));

    let (rows, cols) = grid(data.series.routes.len());
    let panels = body.split_evenly((rows, cols));
    for (i, (name, series)) in data.series.routes.iter().enumerate() {
        let area = &panels[i];
        let (caption, plot) = area.split_vertically(22);
        let summary = data.summary.routes.get(name);
        let title = match summary {
            Some(s) => format!(
                "{name}: {} request{}, p99 {} ms over the run",
                crate::output::thousands(s.requests.total),
                if s.requests.total == 1 { "" } else { "s" },
                frame::format_tick(s.latency_ms.p99)
            ),
            None => name.clone(),
        };
        caption.draw_text(&title, &frame::text(14), (10, 4))?;
        let layout = PanelLayout { left: 62, right: 14, time_title: i + cols >= data.series.routes.len(), y_labels: 6 };
        // The y axis is log10(ms) on a linear scale, with ticks at round milliseconds.
        let layout = PanelLayout { y_labels: 0, ..layout };
        let y = lo.log10()..hi.log10();
        let mut chart = frame::time_panel(&plot, &tl, y, "latency (ms, log scale)", &|_: &f64| String::new(), layout)?;
        let (x0, _) = chart.backend_coord(&(0.0, 0.0));
        let (x1, _) = chart.backend_coord(&(tl.end_s, 0.0));
        let tick_style = frame::text(12).pos(Pos::new(HPos::Right, VPos::Center));
        for v in log_ticks(lo, hi) {
            let (_, y) = chart.backend_coord(&(0.0, v.log10()));
            root.draw(&PathElement::new(vec![(x0, y), (x1, y)], frame::GRID.stroke_width(1)))?;
            root.draw(&PathElement::new(vec![(x0 - 4, y), (x0, y)], frame::MUTED.stroke_width(1)))?;
            root.draw_text(&frame::format_tick(v), &tick_style, (x0 - 6, y))?;
        }
        if series.iter().all(|r| r.latency.is_none()) {
            frame::note(&chart.plotting_area().strip_coord_spec(), "no requests ended")?;
            frame::label_windows(&chart, &tl)?;
            continue;
        }
        for (_, get, color) in PERCENTILES {
            let points: Vec<Option<(f64, f64)>> = series
                .iter()
                .map(|r| {
                    let v = r.latency.as_ref().map(get).filter(|v| *v > 0.0)?;
                    Some((data.series.windows[r.window].mid_s(), v.log10()))
                })
                .collect();
            frame::draw_gapped(&mut chart, &points, color.stroke_width(2))?;
        }
        frame::label_windows(&chart, &tl)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::log_ticks;

    #[test]
    fn log_ticks_are_round_and_within_the_range() {
        assert_eq!(log_ticks(3.0, 300.0), vec![3.0, 10.0, 30.0, 100.0, 300.0]);
        assert_eq!(log_ticks(4.0, 150.0), vec![5.0, 10.0, 20.0, 50.0, 100.0]);
        assert_eq!(log_ticks(6.0, 25.0), vec![6.0, 7.0, 8.0, 9.0, 10.0, 15.0, 20.0]);
        assert_eq!(log_ticks(0.05, 5000.0), vec![0.1, 1.0, 10.0, 100.0, 1000.0]);
        for (lo, hi) in [(0.01, 0.05), (1.0, 4.0), (40.0, 170.0), (0.3, 90_000.0)] {
            let t = log_ticks(lo, hi);
            assert!(t.len() >= 2 && t.len() <= 9, "{lo}..{hi}: {t:?}");
            assert!(t.iter().all(|v| *v >= lo && *v <= hi), "{lo}..{hi}: {t:?}");
        }
    }
}

//! `instances.png`: per instance and window, the utilisation (busy workers over workers
//! available) and the mean queue length, as two heat maps with a row per instance.

use super::frame::{self, Area, Drawn, Legend, PANEL, PanelLayout, Swatch, TEXT, Timeline};
use crate::rundata::{InstanceRow, RunData};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// ColorBrewer's YlGnBu: idle is near white, so hot spots stand out.
const STOPS: [(u8, u8, u8); 5] = [(255, 255, 217), (199, 233, 180), (65, 182, 196), (34, 94, 168), (8, 29, 88)];
const NO_DATA: RGBColor = RGBColor(236, 236, 236);

/// The colour of `v` on a scale from 0 to `max`.
fn heat(v: f64, max: f64) -> RGBColor {
    let t = if max > 0.0 { (v / max).clamp(0.0, 1.0) } else { 0.0 } * (STOPS.len() - 1) as f64;
    let i = (t.floor() as usize).min(STOPS.len() - 2);
    let f = t - i as f64;
    let mix = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * f).round() as u8;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

pub(super) fn skip(data: &RunData) -> Option<&'static str> {
    if data.series.instances.is_empty() { Some("no instance rows in timeseries.csv") } else { None }
}

pub(super) fn size(_: &RunData) -> (u32, u32) {
    (frame::WIDTH, frame::HEIGHT)
}

struct Heat {
    y_desc: &'static str,
    value: fn(&InstanceRow) -> Option<f64>,
    max: f64,
    ticks: [String; 3],
}

// Over 80 lines: plotters' builder calls for the instance timeline (lanes, spans, legend).
pub(super) fn draw(data: &RunData, root: &Area) -> Drawn {
    let tl = Timeline::of(data);
    let ts = &data.series;
    let mut legend = Legend::new();
    legend.add(Swatch::Fill(heat(0.0, 1.0)), "idle / empty");
    legend.add(Swatch::Fill(heat(1.0, 1.0)), "busy / longest queue");
    legend.add(Swatch::Fill(NO_DATA), "no data");
    legend.add_outlined_marks(&tl);
    let body = frame::header(root, "Load per instance: utilisation and queue length per window", data, &legend)?;

    let queue_max = ts.instances.values().flatten().filter_map(|r| r.queue_mean).fold(0.0, f64::max);
    let queue_top = if queue_max > 0.0 { frame::nice_max(queue_max / 1.25, 1.0) } else { 1.0 };
    let panels = [
        Heat {
            y_desc: "utilisation",
            value: |r| r.utilization,
            max: 1.0,
            ticks: ["0 %".into(), "50 %".into(), "100 %".into()],
        },
        Heat {
            y_desc: "queue length (jobs)",
            value: |r| r.queue_mean,
            max: queue_top,
            ticks: ["0".into(), frame::format_tick(queue_top / 2.0), frame::format_tick(queue_top)],
        },
    ];

    let label_style = frame::text(12);
    let mut left = PANEL.left;
    for name in ts.instances.keys() {
        left = left.max(root.estimate_text_size(name, &label_style)?.0 + 38);
    }
    let (_, h) = body.dim_in_pixel();
    let (a, b) = body.split_vertically(h / 2);
    let n = ts.instances.len() as f64;
    for (k, (area, p)) in [a, b].iter().zip(&panels).enumerate() {
        let layout = PanelLayout { left, right: 110, y_labels: 0, time_title: k == 1 };
        let mut chart = frame::time_panel(area, &tl, 0.0..n, p.y_desc, &|_: &f64| String::new(), layout)?;
        let mut cells = Vec::new();
        for (i, rows) in ts.instances.values().enumerate() {
            let (y0, y1) = (n - i as f64 - 1.0, n - i as f64);
            for r in rows {
                let w = ts.windows[r.window];
                let color = (p.value)(r).map_or(NO_DATA, |v| heat(v, p.max));
                cells.push(Rectangle::new([(w.start_s, y0), (w.end_s, y1)], color.filled()));
            }
        }
        chart.draw_series(cells)?;
        // The windows again, over the cells: outlined, and labelled in the first panel.
        frame::shade(&chart.plotting_area().strip_coord_spec(), &tl, false)?;
        if k == 0 {
            frame::label_windows(&chart, &tl)?;
        }

        // Row labels, thinned out when rows are too narrow for text.
        let (x0, y_top) = chart.backend_coord(&(0.0, n));
        let (x1, y_bottom) = chart.backend_coord(&(tl.end_s, 0.0));
        let row_px = f64::from((y_bottom - y_top).max(1)) / n;
        let every = (14.0 / row_px).ceil().max(1.0) as usize;
        let style = label_style.pos(Pos::new(HPos::Right, VPos::Center));
        for (i, name) in ts.instances.keys().enumerate().filter(|(i, _)| i % every == 0) {
            let (_, y) = chart.backend_coord(&(0.0, n - i as f64 - 0.5));
            root.draw_text(name, &style, (x0 - 8, y))?;
        }

        // The colour bar.
        let (bx, steps) = (x1 + 18, 48);
        for s in 0..steps {
            let ya = y_bottom - (y_bottom - y_top) * s / steps;
            let yb = y_bottom - (y_bottom - y_top) * (s + 1) / steps;
            let color = heat((f64::from(s) + 0.5) / f64::from(steps), 1.0);
            root.draw(&Rectangle::new([(bx, yb), (bx + 14, ya)], color.filled()))?;
        }
        root.draw(&Rectangle::new([(bx, y_top), (bx + 14, y_bottom)], TEXT.stroke_width(1)))?;
        let tick = frame::text(12).pos(Pos::new(HPos::Left, VPos::Center));
        for (j, t) in p.ticks.iter().enumerate() {
            let y = y_bottom - (y_bottom - y_top) * j as i32 / 2;
            root.draw(&PathElement::new(vec![(bx + 14, y), (bx + 18, y)], TEXT.stroke_width(1)))?;
            root.draw_text(t, &tick, (bx + 21, y))?;
        }
    }
    Ok(())
}

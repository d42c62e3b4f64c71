//! `goodput.png`: the service time spent per second of the run against the part of it
//! behind requests answered ok (the rest is wasted work), and below, that share of work
//! against the share of requests answered ok.

use super::frame::{self, Area, Drawn, Legend, PANEL, PanelLayout, Swatch, Timeline};
use crate::rundata::RunData;
use plotters::prelude::*;

const WORK: RGBColor = RGBColor(60, 60, 60);
const GOODPUT: RGBColor = RGBColor(44, 160, 44);
const WASTED: RGBColor = RGBColor(214, 39, 40);
/// `WASTED` at 30 % over white, as the band between the lines looks.
const WASTED_SWATCH: RGBColor = RGBColor(243, 190, 191);
const OK_SHARE: RGBColor = RGBColor(31, 119, 180);

pub(super) fn skip(data: &RunData) -> Option<&'static str> {
    if data.series.total.is_empty() { Some("no total rows in timeseries.csv") } else { None }
}

pub(super) fn size(_: &RunData) -> (u32, u32) {
    (frame::WIDTH, frame::HEIGHT)
}

pub(super) fn draw(data: &RunData, root: &Area) -> Drawn {
    let tl = Timeline::of(data);
    let ts = &data.series;
    let mut legend = Legend::new();
    legend.add(Swatch::Line(WORK), "work done");
    legend.add(Swatch::Line(GOODPUT), "goodput: work behind ok answers");
    legend.add(Swatch::Fill(WASTED_SWATCH), "wasted work");
    legend.add(Swatch::Line(OK_SHARE), "requests ok");
    legend.add_time_marks(&tl);
    let body = frame::header(root, "Goodput against work done, at every instance together", data, &legend)?;
    let (_, h) = body.dim_in_pixel();
    let (top, bottom) = body.split_vertically(h * 55 / 100);

    let rate = |x: f64, w: usize| {
        let win = ts.windows[w];
        let d = win.end_s - win.start_s;
        if d > 0.0 { x / d } else { 0.0 }
    };
    let work: Vec<(f64, f64, f64)> = ts
        .total
        .iter()
        .map(|r| (ts.windows[r.window].mid_s(), rate(r.work_s, r.window), rate(r.goodput_work_s, r.window)))
        .collect();
    let max = work.iter().map(|w| w.1.max(w.2)).fold(0.0, f64::max);
    let fmt = |v: &f64| frame::format_tick(*v);
    let layout = PanelLayout { time_title: false, ..PANEL };
    let mut chart =
        frame::time_panel(&top, &tl, 0.0..frame::nice_max(max, 0.1), "busy workers (work-s / s)", &fmt, layout)?;
    if work.len() >= 2 {
        let mut outline: Vec<(f64, f64)> = work.iter().map(|w| (w.0, w.1)).collect();
        outline.extend(work.iter().rev().map(|w| (w.0, w.2)));
        chart.draw_series(std::iter::once(Polygon::new(outline, WASTED.mix(0.3).filled())))?;
    }
    frame::draw_gapped(&mut chart, &work.iter().map(|w| Some((w.0, w.1))).collect::<Vec<_>>(), WORK.stroke_width(2))?;
    let good: Vec<_> = work.iter().map(|w| Some((w.0, w.2))).collect();
    frame::draw_gapped(&mut chart, &good, GOODPUT.stroke_width(2))?;
    frame::label_windows(&chart, &tl)?;

    let pct = |v: &f64| format!("{v:.0} %");
    let layout = PANEL;
    let mut chart = frame::time_panel(&bottom, &tl, 0.0..112.0, "share (%)", &pct, layout)?;
    let share: Vec<_> = ts
        .total
        .iter()
        .map(|r| (r.work_s > 0.0).then(|| (ts.windows[r.window].mid_s(), 100.0 * r.goodput_work_s / r.work_s)))
        .collect();
    frame::draw_gapped(&mut chart, &share, GOODPUT.stroke_width(2))?;
    let ok: Vec<_> = ts
        .total
        .iter()
        .map(|r| {
            (r.outcomes.requests > 0)
                .then(|| (ts.windows[r.window].mid_s(), 100.0 * r.outcomes.ok as f64 / r.outcomes.requests as f64))
        })
        .collect();
    frame::draw_gapped(&mut chart, &ok, OK_SHARE.stroke_width(2))?;
    Ok(())
}

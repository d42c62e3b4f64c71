//! `retries.png`: retry amplification (attempts per call) of each policy point per
//! window, and below, the retries sent and those a retry budget denied, per second.

use super::frame::{self, Area, Drawn, Legend, PANEL, PanelLayout, Swatch, Timeline};
use crate::rundata::RunData;
use plotters::prelude::*;

pub(super) fn skip(data: &RunData) -> Option<&'static str> {
    if data.series.calls.is_empty() { Some("no policy points (call rows) in timeseries.csv") } else { None }
}

pub(super) fn size(_: &RunData) -> (u32, u32) {
    (frame::WIDTH, frame::HEIGHT)
}

pub(super) fn draw(data: &RunData, root: &Area) -> Drawn {
    let tl = Timeline::of(data);
    let ts = &data.series;
    let mut legend = Legend::new();
    for (i, p) in ts.calls.keys().enumerate() {
        legend.add(Swatch::Line(frame::series_color(i)), p.as_str());
    }
    if ts.calls.values().flatten().any(|r| r.retries_denied > 0) {
        legend.add(Swatch::Dashed(frame::MUTED), "denied by a budget (same colour)");
    }
    legend.add_time_marks(&tl);
    let body = frame::header(root, "Retry amplification per policy point: attempts per call", data, &legend)?;
    let (_, h) = body.dim_in_pixel();
    let (top, bottom) = body.split_vertically(h * 55 / 100);

    let max = ts.calls.values().flatten().filter_map(|r| r.retry_amplification).fold(0.0, f64::max);
    let fmt = |v: &f64| frame::format_tick(*v);
    let layout = PanelLayout { time_title: false, ..PANEL };
    let mut chart = frame::time_panel(&top, &tl, 0.0..frame::nice_max(max, 2.0), "attempts per call", &fmt, layout)?;
    let one = vec![Some((0.0, 1.0)), Some((tl.end_s, 1.0))];
    frame::draw_dashed(&mut chart, &one, frame::MUTED.stroke_width(1))?;
    for (i, rows) in ts.calls.values().enumerate() {
        let points: Vec<_> =
            rows.iter().map(|r| r.retry_amplification.map(|a| (ts.windows[r.window].mid_s(), a))).collect();
        frame::draw_gapped(&mut chart, &points, frame::series_color(i).stroke_width(2))?;
    }
    frame::label_windows(&chart, &tl)?;

    let per_s = |n: u64, w: usize| {
        let win = ts.windows[w];
        let d = win.end_s - win.start_s;
        if d > 0.0 { n as f64 / d } else { 0.0 }
    };
    let retrying: Vec<usize> =
        (0..ts.calls.len()).filter(|&i| ts.calls[i].iter().any(|r| r.retries > 0 || r.retries_denied > 0)).collect();
    let max = retrying
        .iter()
        .flat_map(|&i| &ts.calls[i])
        .map(|r| per_s(r.retries.max(r.retries_denied), r.window))
        .fold(0.0, f64::max);
    let layout = PANEL;
    let mut chart = frame::time_panel(&bottom, &tl, 0.0..frame::nice_max(max, 1.0), "retries / s", &fmt, layout)?;
    if retrying.is_empty() {
        return frame::note(&chart.plotting_area().strip_coord_spec(), "no retries");
    }
    for i in retrying {
        let color = frame::series_color(i);
        let rows = &ts.calls[i];
        let sent: Vec<_> =
            rows.iter().map(|r| Some((ts.windows[r.window].mid_s(), per_s(r.retries, r.window)))).collect();
        frame::draw_gapped(&mut chart, &sent, color.stroke_width(2))?;
        if rows.iter().any(|r| r.retries_denied > 0) {
            let denied: Vec<_> =
                rows.iter().map(|r| Some((ts.windows[r.window].mid_s(), per_s(r.retries_denied, r.window)))).collect();
            frame::draw_dashed(&mut chart, &denied, color.stroke_width(2))?;
        }
    }
    Ok(())
}

//! `rollout.png`: each rollout's canary weight and mirrored share over time, with every
//! analysis tick marked (passed, failed, or no checks) and the rollback or promotion
//! labelled; below, the canary's success rate at each tick.

use super::frame::{self, Area, Drawn, Legend, PANEL, PanelLayout, Swatch, Timeline};
use crate::rundata::{RolloutStep, RunData};
use plotters::prelude::*;

const PASS: RGBColor = RGBColor(44, 160, 44);
const FAIL: RGBColor = RGBColor(214, 39, 40);
const IDLE: RGBColor = RGBColor(127, 127, 127);

pub(super) fn skip(data: &RunData) -> Option<&'static str> {
    if data.rollout.is_empty() { Some("no rollout in this run") } else { None }
}

pub(super) fn size(_: &RunData) -> (u32, u32) {
    (frame::WIDTH, frame::HEIGHT)
}

/// The rollouts' names, in order of first appearance.
fn names(data: &RunData) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for s in &data.rollout {
        if !out.contains(&s.rollout.as_str()) {
            out.push(&s.rollout);
        }
    }
    out
}

/// A step line of `value` over a rollout's ticks, held to the end of the run.
fn held(steps: &[&RolloutStep], end_s: f64, value: impl Fn(&RolloutStep) -> f64) -> Vec<Option<(f64, f64)>> {
    let mut out = Vec::new();
    for (k, s) in steps.iter().enumerate() {
        let until = steps.get(k + 1).map_or(end_s, |n| n.time_s);
        out.push(Some((s.time_s, value(s))));
        out.push(Some((until, value(s))));
    }
    out
}

pub(super) fn draw(data: &RunData, root: &Area) -> Drawn {
    let tl = Timeline::of(data);
    let names = names(data);
    let mut legend = Legend::new();
    for (i, n) in names.iter().enumerate() {
        legend.add(Swatch::Line(frame::series_color(i)), format!("{n}: canary weight"));
    }
    legend.add(Swatch::Fill(RGBColor(200, 200, 240)), "mirrored share");
    legend.add(Swatch::Line(PASS), "analysis passed");
    legend.add(Swatch::Line(FAIL), "analysis failed");
    legend.add(Swatch::Line(IDLE), "no checks");
    legend.add_time_marks(&tl);
    let body = frame::header(root, "Rollouts: canary weight, mirroring and analysis", data, &legend)?;
    let (_, h) = body.dim_in_pixel();
    let (top, bottom) = body.split_vertically(h * 60 / 100);

    let pct = |v: &f64| format!("{v:.0} %");
    let layout = PanelLayout { time_title: false, ..PANEL };
    let mut chart = frame::time_panel(&top, &tl, 0.0..112.0, "traffic to the canary (%)", &pct, layout)?;
    for (i, name) in names.iter().enumerate() {
        let steps: Vec<&RolloutStep> = data.rollout.iter().filter(|s| s.rollout == *name).collect();
        let colour = frame::series_color(i);
        for (k, s) in steps.iter().enumerate().filter(|(_, s)| s.mirror_pct > 0.0) {
            let until = steps.get(k + 1).map_or(tl.end_s, |n| n.time_s);
            chart.draw_series(std::iter::once(Rectangle::new(
                [(s.time_s, 0.0), (until, s.mirror_pct)],
                RGBColor(200, 200, 240).mix(0.6).filled(),
            )))?;
        }
        frame::draw_gapped(&mut chart, &held(&steps, tl.end_s, |s| s.canary_weight), colour.stroke_width(2))?;
        for s in &steps {
            let mark = match s.analysis.as_str() {
                "pass" => PASS,
                "fail" => FAIL,
                _ => IDLE,
            };
            chart.draw_series(std::iter::once(Circle::new((s.time_s, s.canary_weight), 5, mark.filled())))?;
        }
        // The outcome, where it happened.
        if let Some(end) = steps.iter().find(|s| s.phase == "failed" || s.phase == "promoting") {
            let (label, colour) = if end.phase == "failed" { ("rolled back", FAIL) } else { ("promoted", PASS) };
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(end.time_s, 0.0), (end.time_s, 104.0)],
                colour.stroke_width(1),
            )))?;
            chart.draw_series(std::iter::once(Text::new(
                format!("{name} {label}"),
                (end.time_s, 108.0),
                frame::text(13).color(&colour),
            )))?;
        }
    }
    frame::label_windows(&chart, &tl)?;

    let mut chart = frame::time_panel(&bottom, &tl, 0.0..105.0, "canary success rate (%)", &pct, PANEL)?;
    for (i, name) in names.iter().enumerate() {
        let points: Vec<Option<(f64, f64)>> = data
            .rollout
            .iter()
            .filter(|s| s.rollout == *name)
            .map(|s| s.success_rate_pct.map(|v| (s.time_s, v)))
            .collect();
        frame::draw_gapped(&mut chart, &points, frame::series_color(i).stroke_width(2))?;
        for (t, v) in points.iter().flatten() {
            chart.draw_series(std::iter::once(Circle::new((*t, *v), 3, frame::series_color(i).filled())))?;
        }
    }
    Ok(())
}

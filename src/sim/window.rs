//! The time series: one row per window and per flow or instance, streamed as each
//! window closes.

use super::*;

impl Sim<'_, '_> {
    /// Writes every window that ends at or before `t`.
    pub(super) fn flush_windows(&mut self, t: SimTime) -> Result<(), RunError> {
        while self.window_end <= t {
            self.write_window(self.window_end)?;
            self.window_start = self.window_end;
            self.window_end = self.window_end + self.sc.metrics_interval;
        }
        Ok(())
    }

    /// Writes the windows up to the end of the run, the last one cut short at `t`.
    pub(super) fn flush_final(&mut self, t: SimTime) -> Result<(), RunError> {
        self.flush_windows(t)?;
        if t > self.window_start {
            self.write_window(t)?;
            self.window_start = t;
        }
        Ok(())
    }

    pub(super) fn write_window(&mut self, end: SimTime) -> Result<(), RunError> {
        self.windows_done += 1;
        let sc = self.sc;
        let start = self.window_start;
        let secs = end.since(start).as_secs_f64();
        for st in &mut self.instances {
            st.stats.close_window(end);
        }
        self.total.merge_latencies(self.routes.iter(), false);
        if let Some(w) = self.timeseries.as_mut() {
            let (s0, s1) = (format!("{:.3}", start.as_secs_f64()), format!("{:.3}", end.as_secs_f64()));
            let flows = std::iter::once((("total", "all"), &self.total))
                .chain(sc.gateway.routes.iter().map(|r| ("route", r.name.as_str())).zip(self.routes.iter()))
                .chain(sc.services.iter().map(|s| ("service", s.name.as_str())).zip(self.services.iter()));
            for ((scope, name), f) in flows {
                let c = &f.window_counts;
                let l = &f.window_latency;
                let rate = if secs > 0.0 { c.total() as f64 / secs } else { 0.0 };
                w.write_record([
                    s0.as_str(),
                    s1.as_str(),
                    scope,
                    name,
                    &c.total().to_string(),
                    &c.ok.to_string(),
                    &c.error.to_string(),
                    &c.timeout.to_string(),
                    &c.rejected.to_string(),
                    &c.dropped.to_string(),
                    &c.short_circuited.to_string(),
                    &c.overloaded.to_string(),
                    &format!("{rate:.3}"),
                    &format!("{:.3}", l.mean_ms()),
                    &format!("{:.3}", l.quantile_ms(0.5)),
                    &format!("{:.3}", l.quantile_ms(0.9)),
                    &format!("{:.3}", l.quantile_ms(0.99)),
                    &format!("{:.3}", l.max_ms()),
                    "",
                    "",
                    "",
                ])?;
            }
            for (inst, st) in sc.instances.iter().zip(self.instances.iter()) {
                let t = &st.stats.window;
                let done = t.completed + t.errors;
                let ns = end.since(start).as_nanos() as f64;
                let per_ns = |area: u128| if ns > 0.0 { area as f64 / ns } else { 0.0 };
                w.write_record([
                    s0.as_str(),
                    s1.as_str(),
                    "instance",
                    inst.name.as_str(),
                    &(done + t.rejected).to_string(),
                    &t.completed.to_string(),
                    &t.errors.to_string(),
                    "0",
                    &t.rejected.to_string(),
                    "0",
                    "0",
                    "0",
                    &format!("{:.3}", if secs > 0.0 { done as f64 / secs } else { 0.0 }),
                    &format!("{:.3}", t.sojourn_mean_ms()),
                    "",
                    "",
                    "",
                    &format!("{:.3}", t.sojourn_max_ns as f64 / 1e6),
                    &format!("{:.4}", t.utilization()),
                    &format!("{:.4}", per_ns(t.area_queue)),
                    &format!("{:.4}", per_ns(t.area_in_system)),
                ])?;
            }
        }
        self.total.reset_window();
        for f in self.routes.iter_mut().chain(self.services.iter_mut()) {
            f.reset_window();
        }
        for st in &mut self.instances {
            st.stats.reset_window();
        }
        Ok(())
    }
}

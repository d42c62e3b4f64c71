//! Workload generation: when requests arrive, which route they take, which client sends.
//!
//! Open-loop arrivals follow a piecewise-linear rate r(t) (k6-style stages). The next
//! arrival solves Λ(t') − Λ(t) = E, where Λ is the integral of the rate and E is an
//! Exp(1) draw for a Poisson process or exactly 1 for evenly spaced arrivals: one method
//! gives homogeneous and non-homogeneous Poisson, steps, ramps and spikes alike.

use crate::model::{Process, RateSchedule, RouteId};
use crate::rng::Stream;
use crate::time::{NANOS_PER_SEC, SimTime};
use rand::Rng;
use rand_distr::{Distribution, Exp1};

/// Segment k of the schedule: from `start` (seconds) with rate `r0` to `r1` at `end`.
#[derive(Clone, Debug)]
struct Segment {
    start: f64,
    end: f64,
    r0: f64,
    r1: f64,
}

#[derive(Clone, Debug)]
pub struct Arrivals {
    process: Process,
    segments: Vec<Segment>,
    /// Rate after the last stage, held for ever.
    final_rate: f64,
    /// 1 / `final_rate`: the mean gap, so the hot path multiplies instead of dividing.
    final_gap: f64,
    final_start: f64,
    rng: Stream,
}

impl Arrivals {
    pub fn new(process: Process, schedule: &RateSchedule, rng: Stream) -> Arrivals {
        let mut segments = Vec::new();
        let mut t = 0.0;
        let mut r = schedule.start_rate;
        for &(d, target) in &schedule.stages {
            let end = t + d.as_secs_f64();
            if end > t {
                segments.push(Segment { start: t, end, r0: r, r1: target });
            }
            t = end;
            r = target;
        }
        Arrivals { process, segments, final_rate: r, final_gap: 1.0 / r, final_start: t, rng }
    }

    /// The rate in requests per second at time `t`.
    pub fn rate_at(&self, t: SimTime) -> f64 {
        let s = t.as_secs_f64();
        for seg in &self.segments {
            if s < seg.end {
                return seg.r0 + (seg.r1 - seg.r0) * (s - seg.start) / (seg.end - seg.start);
            }
        }
        self.final_rate
    }

    /// The first arrival strictly after `now`, or `None` if the rate stays zero.
    pub fn next(&mut self, now: SimTime) -> Option<SimTime> {
        let mut e: f64 = match self.process {
            Process::Poisson => Exp1.sample(&mut self.rng),
            Process::Constant => 1.0,
        };
        let mut t = now.as_secs_f64();
        if t >= self.final_start {
            // The common case: a constant rate for the rest of the run.
            if self.final_rate <= 0.0 {
                return None;
            }
            return Some(advance(now, e * self.final_gap));
        }
        for seg in &self.segments {
            if t >= seg.end {
                continue;
            }
            let slope = (seg.r1 - seg.r0) / (seg.end - seg.start);
            let rt = seg.r0 + slope * (t - seg.start);
            let mass = 0.5 * (rt + seg.r1) * (seg.end - t);
            if mass < e {
                e -= mass;
                t = seg.end;
                continue;
            }
            // Solve rt*x + slope*x^2/2 = e in the stable form 2e / (rt + sqrt(rt^2 + 2*slope*e)).
            let x = 2.0 * e / (rt + (rt * rt + 2.0 * slope * e).max(0.0).sqrt());
            return Some(advance(now, t + x - now.as_secs_f64()));
        }
        if self.final_rate <= 0.0 {
            return None;
        }
        Some(advance(now, t - now.as_secs_f64() + e / self.final_rate))
    }
}

/// `now` plus `secs` seconds, never less than one nanosecond later.
fn advance(now: SimTime, secs: f64) -> SimTime {
    // Adding 0.5 rounds a non-negative value without a call to libm's `round`.
    let ns = (secs * NANOS_PER_SEC as f64 + 0.5).max(1.0);
    SimTime(now.0.saturating_add(ns as u64))
}

/// Picks a route by weight.
#[derive(Clone, Debug)]
pub struct Mix {
    routes: Vec<RouteId>,
    cumulative: Vec<f64>,
    rng: Stream,
}

impl Mix {
    pub fn new(entries: &[(RouteId, f64)], rng: Stream) -> Mix {
        let mut acc = 0.0;
        let cumulative = entries.iter().map(|&(_, w)| {
            acc += w;
            acc
        });
        Mix { cumulative: cumulative.collect(), routes: entries.iter().map(|&(r, _)| r).collect(), rng }
    }

    #[inline]
    pub fn pick(&mut self) -> RouteId {
        if self.routes.len() == 1 {
            return self.routes[0];
        }
        let total = *self.cumulative.last().expect("validated: the mix is not empty");
        let u = self.rng.random::<f64>() * total;
        let i = self.cumulative.partition_point(|&c| c <= u);
        self.routes[i.min(self.routes.len() - 1)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::RootSeed;
    use crate::time::SimDuration;

    fn count_in(arr: &mut Arrivals, from: f64, to: f64) -> usize {
        let mut t = SimTime::ZERO;
        let mut n = 0;
        while let Some(next) = arr.next(t) {
            t = next;
            let s = t.as_secs_f64();
            if s >= to {
                break;
            }
            if s >= from {
                n += 1;
            }
        }
        n
    }

    #[test]
    fn constant_process_is_evenly_spaced() {
        let sched = RateSchedule { start_rate: 100.0, stages: vec![] };
        let mut a = Arrivals::new(Process::Constant, &sched, RootSeed(1).stream("a"));
        assert_eq!(a.next(SimTime::ZERO), Some(SimTime(10_000_000)));
        assert_eq!(count_in(&mut a, 0.0, 10.0), 999);
    }

    #[test]
    fn poisson_rate_matches() {
        let sched = RateSchedule { start_rate: 1000.0, stages: vec![] };
        let mut a = Arrivals::new(Process::Poisson, &sched, RootSeed(1).stream("a"));
        let n = count_in(&mut a, 0.0, 100.0);
        assert!((n as f64 - 100_000.0).abs() < 1_500.0, "{n}");
    }

    #[test]
    fn ramp_step_and_spike() {
        // Ramp 0 -> 100/s over 10 s (500 expected), step to 0 for 10 s, spike 1000/s for 1 s.
        let sched = RateSchedule {
            start_rate: 0.0,
            stages: vec![
                (SimDuration::from_secs(10), 100.0),
                (SimDuration::ZERO, 0.0),
                (SimDuration::from_secs(10), 0.0),
                (SimDuration::ZERO, 1000.0),
                (SimDuration::from_secs(1), 1000.0),
                (SimDuration::ZERO, 0.0),
            ],
        };
        let mut a = Arrivals::new(Process::Constant, &sched, RootSeed(1).stream("a"));
        // The 500th arrival lands on the ramp's end; the 10 s pause follows.
        assert_eq!(count_in(&mut a, 0.0, 15.0), 500);
        let mut a = Arrivals::new(Process::Constant, &sched, RootSeed(1).stream("a"));
        assert_eq!(count_in(&mut a, 10.001, 20.0), 0);
        let mut a = Arrivals::new(Process::Poisson, &sched, RootSeed(1).stream("a"));
        let spike = count_in(&mut a, 20.0, 21.0);
        assert!((900..1100).contains(&spike), "{spike}");
        assert_eq!(a.next(SimTime::from_secs_for_test(22)), None, "rate stays zero after the spike");
    }

    #[test]
    fn mix_follows_weights() {
        let entries = [(RouteId(0), 60.0), (RouteId(1), 30.0), (RouteId(2), 10.0)];
        let mut m = Mix::new(&entries, RootSeed(2).stream("m"));
        let mut c = [0usize; 3];
        for _ in 0..100_000 {
            c[m.pick().idx()] += 1;
        }
        assert!((59_000..61_000).contains(&c[0]) && (29_000..31_000).contains(&c[1]), "{c:?}");
    }

    impl SimTime {
        fn from_secs_for_test(s: u64) -> SimTime {
            SimTime(s * NANOS_PER_SEC)
        }
    }
}

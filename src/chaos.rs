//! The seeded chaos monkey: the faults it draws for a run, as a pure function of the
//! monkey's bounds, the root seed and the end of arrivals.
//!
//! Draws come from the stream `chaos/monkey` only, in a fixed order per step (gap,
//! kind, variant, duration), so the same seed gives the same faults, and a skipped step
//! (at `maxConcurrent`) does not shift later ones. Drawn faults are appended after the
//! scenario's own, so those keep their indices and their streams.

use crate::model::{ChaosMonkey, Fault};
use crate::rng::RootSeed;
use crate::time::{SimDuration, SimTime};
use rand::Rng;
use rand_distr::{Distribution, Exp};

/// The most draws (faults started or skipped at `maxConcurrent`) one run's monkey may
/// make: a mean interval far too short for the run's length is an error, not a run that
/// never ends.
pub const CHAOS_DRAWS_MAX: usize = 100_000;

/// Why the monkey cannot draw its faults.
#[derive(Debug, thiserror::Error)]
pub enum ChaosError {
    #[error("the chaos monkey needs an end: set chaos.end or a run duration")]
    Unbounded,
    #[error(
        "the chaos monkey would draw more than {CHAOS_DRAWS_MAX} faults (a mean interval of {0} \
         for {1} of chaos): make chaos.meanInterval longer or the run shorter"
    )]
    TooMany(SimDuration, SimDuration),
}

/// The faults the monkey starts in [`start`, end), `end` being its own or `until` (the
/// end of arrivals), whichever is first.
pub fn draw(m: &ChaosMonkey, seed: RootSeed, until: Option<SimTime>) -> Result<Vec<Fault>, ChaosError> {
    let end = match (m.end, until) {
        (Some(e), Some(u)) => e.min(u),
        (Some(e), None) | (None, Some(e)) => e,
        (None, None) => return Err(ChaosError::Unbounded),
    };
    let mut rng = seed.stream("chaos/monkey");
    let gap = Exp::new(1.0 / m.mean_interval.as_nanos() as f64).expect("a positive mean interval");
    let total_weight: f64 = m.kinds.iter().map(|k| k.weight).sum();
    let (min, max) = (m.duration.0.as_nanos(), m.duration.1.as_nanos());
    let mut faults: Vec<Fault> = Vec::new();
    let mut t = m.start;
    for _ in 0..=CHAOS_DRAWS_MAX {
        t = t + SimDuration::from_nanos(gap.sample(&mut rng).round() as u64);
        if t >= end {
            return Ok(faults);
        }
        let mut x = rng.random::<f64>() * total_weight;
        let kind = m.kinds.iter().find(|k| {
            x -= k.weight;
            x < 0.0
        });
        let kind = kind.unwrap_or(&m.kinds[m.kinds.len() - 1]);
        let variant = rng.random_range(0..kind.variants.len());
        let lasts = SimDuration::from_nanos(rng.random_range(min..=max));
        let active = faults.iter().filter(|f| f.end.is_some_and(|e| e > t)).count();
        if active >= m.max_concurrent as usize {
            continue;
        }
        faults.push(Fault { start: t, end: Some(t + lasts), repeat: None, ..kind.variants[variant].clone() });
    }
    Err(ChaosError::TooMany(m.mean_interval, end.since(m.start)))
}

//! The shared context of validation: the issue collector (`Cx`), the zone interner and
//! the small checks every part uses (names, percentages, counts, durations, statuses,
//! distributions, "a known X" messages). It calls back into nothing else in `validate`.

use crate::dist::Dist;
use crate::model::{EndpointId, InstanceId, RegistryModel, Route, Service, ServiceId, Topology, ZoneId};
use crate::scenario::Issue;
use crate::scenario::raw::{self, DistSpec};
use crate::time::SimDuration;
use indexmap::IndexMap;
use rand_distr::{Gamma, Normal, Pareto, Weibull};

/// Instances per service: each has its own proxy state for every destination it calls.
pub const REPLICAS_MAX: u32 = 10_000;

/// `n` replicas given by a count, spread over `zones` in turn (the first replica in the
/// first zone), with the service's workers, weight and speed.
pub(super) fn replicas_over(zones: &[String], n: u32) -> Vec<raw::InstanceSpec> {
    (0..n as usize)
        .map(|i| raw::InstanceSpec {
            zone: zones.get(i % zones.len().max(1)).cloned(),
            workers: None,
            weight: None,
            slowdown: None,
        })
        .collect()
}
/// The zone of anything that names none.
pub const DEFAULT_ZONE: &str = "default";
/// HTTP methods as routes and endpoints spell them.
pub const METHODS: [&str; 9] = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"];

/// Collects the problems found, in the order they are found (that order is output).
pub struct Cx {
    pub issues: Vec<Issue>,
}
/// Names become parts of JSON paths, instance names and report columns: keep them plain.
fn name_problem(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > 63 {
        return Some(format!("a name of 1 to 63 characters, found \"{name}\""));
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Some(format!("a name of letters, digits, '-' and '_', found \"{name}\""));
    }
    None
}

impl Cx {
    /// Checks that an object of a given `type` sets only the parameters that type takes
    /// (`takes`) and every one it requires (`requires`); `present` lists each parameter's
    /// JSON name and whether it is set. Returns whether all is well.
    pub fn params(
        &mut self,
        path: &str,
        what: &str,
        takes: &[&str],
        requires: &[&str],
        present: &[(&str, bool)],
    ) -> bool {
        let mut ok = true;
        for &(name, set) in present {
            if set && !takes.contains(&name) {
                let allowed = if takes.is_empty() { "none".to_string() } else { takes.join(", ") };
                self.err(format!("{path}.{name}"), format!("a parameter of {what} ({allowed}), found \"{name}\""));
                ok = false;
            }
            if !set && requires.contains(&name) {
                self.err(format!("{path}.{name}"), format!("\"{name}\", which {what} requires"));
                ok = false;
            }
        }
        ok
    }

    pub fn name(&mut self, path: String, name: &str) {
        if let Some(msg) = name_problem(name) {
            self.err(path, msg);
        }
    }

    pub fn err(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.issues.push(Issue { path: path.into(), message: message.into() });
    }

    pub fn percent(&mut self, path: String, v: Option<f64>, default: f64) -> f64 {
        match v {
            None => default / 100.0,
            Some(p) if (0.0..=100.0).contains(&p) => p / 100.0,
            Some(p) => {
                self.err(path, format!("a percentage from 0 to 100, found {p}"));
                0.0
            }
        }
    }

    pub fn positive_count(&mut self, path: String, v: Option<u32>, default: u32, what: &str) -> u32 {
        match v {
            None => default,
            Some(0) => {
                self.err(path, format!("at least 1 {what}, found 0"));
                1
            }
            Some(n) => n,
        }
    }

    pub fn positive_duration(&mut self, path: String, d: SimDuration) -> SimDuration {
        if d.is_zero() {
            self.err(path, "a duration greater than zero, found 0");
        }
        d
    }

    pub fn status(&mut self, path: String, v: Option<u16>, default: u16) -> u16 {
        match v {
            None => default,
            Some(s) if (400..=599).contains(&s) => s,
            Some(s) => {
                self.err(path, format!("an error status from 400 to 599, found {s}"));
                default
            }
        }
    }

    /// A distribution of durations; its parameters' presence is checked when the file
    /// is read, their values here.
    pub fn dist(&mut self, path: &str, spec: &DistSpec) -> Dist {
        use raw::DistObj as O;
        let o = match spec {
            DistSpec::Constant(d) => return Dist::Constant(d.0),
            DistSpec::Full(obj) => obj,
        };
        let fallback = Dist::Constant(SimDuration::ZERO);
        let ns = |d: &raw::Dur| d.0.as_nanos() as f64;
        let bad = |cx: &mut Cx, field: &str, msg: String| {
            cx.err(format!("{path}.{field}"), msg);
            fallback.clone()
        };
        match o {
            O::Constant { value } => Dist::Constant(value.0),
            O::Uniform { min, max } => {
                if ns(max) < ns(min) {
                    return bad(self, "max", format!("a maximum at least the minimum {}, found {}", min.0, max.0));
                }
                Dist::Uniform { min_ns: ns(min), span_ns: ns(max) - ns(min) }
            }
            O::Exponential { mean } => match ns(mean) {
                m if m > 0.0 => Dist::Exponential { mean_ns: m },
                _ => bad(self, "mean", "a mean greater than zero (use \"0s\" for no delay)".into()),
            },
            O::Normal { mean, stddev } => match Normal::new(ns(mean), ns(stddev)) {
                Ok(d) => Dist::Normal(d),
                Err(e) => bad(self, "stddev", format!("a valid standard deviation: {e}")),
            },
            O::Lognormal { mean, stddev } => {
                let (m, s) = (ns(mean), ns(stddev));
                if m <= 0.0 {
                    return bad(self, "mean", "a mean greater than zero".into());
                }
                // Moment matching: sigma^2 = ln(1 + s^2/m^2), mu = ln m - sigma^2 / 2.
                let sigma2 = (1.0 + (s * s) / (m * m)).ln();
                // The normal of the logarithm (`rand_distr::LogNormal::new` takes the same).
                match Normal::new(m.ln() - sigma2 / 2.0, sigma2.sqrt()) {
                    Ok(d) => Dist::LogNormal(d),
                    Err(e) => bad(self, "stddev", format!("a valid standard deviation: {e}")),
                }
            }
            O::Pareto { scale, shape } | O::Weibull { scale, shape } | O::Gamma { scale, shape } => {
                let shape = *shape;
                if !(shape.is_finite() && shape > 0.0) {
                    return bad(self, "shape", format!("a shape greater than zero, found {shape}"));
                }
                let scale = ns(scale);
                if scale <= 0.0 {
                    return bad(self, "scale", "a scale greater than zero".into());
                }
                let built = match o {
                    O::Pareto { .. } => Pareto::new(scale, shape).map(Dist::Pareto).map_err(|e| e.to_string()),
                    O::Weibull { .. } => Weibull::new(scale, shape).map(Dist::Weibull).map_err(|e| e.to_string()),
                    _ => Gamma::new(shape, scale).map(Dist::Gamma).map_err(|e| e.to_string()),
                };
                built.unwrap_or_else(|e| bad(self, "shape", format!("valid parameters: {e}")))
            }
            O::Erlang { k, mean } => {
                let k = *k;
                if k == 0 {
                    return bad(self, "k", "at least 1 phase, found 0".into());
                }
                let mean = ns(mean);
                if mean <= 0.0 {
                    return bad(self, "mean", "a mean greater than zero".into());
                }
                match Gamma::new(f64::from(k), mean / f64::from(k)) {
                    Ok(d) => Dist::Gamma(d),
                    Err(e) => bad(self, "mean", format!("a valid mean: {e}")),
                }
            }
            O::Empirical { samples } if !samples.is_empty() => Dist::Empirical(samples.iter().map(|d| d.0).collect()),
            O::Empirical { .. } => bad(self, "samples", "at least one sample".into()),
        }
    }
}

/// Interns zone names in order of first appearance.
pub struct Zones(pub IndexMap<String, ()>);

impl Zones {
    pub fn id(&mut self, name: &str) -> ZoneId {
        let (i, _) = self.0.insert_full(name.to_string(), ());
        ZoneId(i as u32)
    }
}

/// The JSON name of a `type` enum value, such as `"lognormal"`.
pub fn kind_name<T: serde::Serialize>(kind: T) -> String {
    serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
}

pub fn unknown<'a>(what: &str, name: &str, known: impl Iterator<Item = &'a str>) -> String {
    let list: Vec<&str> = known.collect();
    format!("a known {what}, found \"{name}\" (known: {})", list.join(", "))
}

/// Two groups of names, resolved by `id`; errors name `path[g][k]`.
pub fn two_groups(
    cx: &mut Cx,
    path: &str,
    groups: &[Vec<String>],
    what: &str,
    id: impl Fn(&str) -> Option<u32>,
) -> Option<(Vec<u32>, Vec<u32>)> {
    if groups.len() != 2 || groups.iter().any(Vec::is_empty) {
        cx.err(path.to_string(), format!("two non-empty groups of {what}s, as [[\"a\"], [\"b\"]]"));
        return None;
    }
    let mut out = [Vec::new(), Vec::new()];
    for (g, group) in groups.iter().enumerate() {
        for (k, name) in group.iter().enumerate() {
            match id(name) {
                Some(i) => out[g].push(i),
                None => {
                    cx.err(format!("{path}[{g}][{k}]"), format!("a known {what}, found {name:?}"));
                    return None;
                }
            }
        }
    }
    if out[0].iter().any(|x| out[1].contains(x)) {
        cx.err(path.to_string(), format!("two groups with no {what} in both"));
        return None;
    }
    let [a, b] = out;
    Some((a, b))
}

/// What faults may refer to: the scenario's names and ids.
pub struct FaultEnv<'a> {
    pub service_ids: &'a IndexMap<&'a str, ServiceId>,
    pub endpoint_ids: &'a IndexMap<(&'a str, &'a str), EndpointId>,
    pub services: &'a [Service],
    pub registry: Option<&'a RegistryModel>,
    pub zones: &'a Zones,
    pub instance_zone: &'a dyn Fn(InstanceId) -> ZoneId,
    pub routes: &'a [Route],
    pub config_pushes: bool,
    pub topology: &'a Topology,
    /// The scenario has a `security` block (security faults need one).
    pub security: bool,
}

//! Values used throughout the file: durations, maps with unique keys, distributions.

use super::*;

/// A duration string such as `"250ms"`, parsed when the file is read.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dur(pub crate::time::SimDuration);

/// A JSON object whose keys are names, in file order; a key used twice is an error
/// (plain serde maps keep the last value silently).
#[derive(Debug)]
pub struct UniqueMap<V>(pub IndexMap<String, V>);

impl<V> Default for UniqueMap<V> {
    fn default() -> Self {
        UniqueMap(IndexMap::new())
    }
}

impl<V> std::ops::Deref for UniqueMap<V> {
    type Target = IndexMap<String, V>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// A distribution: either a duration string (a constant) or an object with a `type`.
#[derive(Clone, Debug)]
pub enum DistSpec {
    Constant(Dur),
    Full(DistObj),
}

/// A distribution object: its `type` picks the variant, and each variant takes (and
/// requires) exactly its fields.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case", rename_all_fields = "camelCase", deny_unknown_fields)]
pub enum DistObj {
    Constant { value: Dur },
    Uniform { min: Dur, max: Dur },
    Exponential { mean: Dur },
    Normal { mean: Dur, stddev: Dur },
    Lognormal { mean: Dur, stddev: Dur },
    Pareto { scale: Dur, shape: f64 },
    Weibull { scale: Dur, shape: f64 },
    Gamma { scale: Dur, shape: f64 },
    Erlang { k: u32, mean: Dur },
    Empirical { samples: Vec<Dur> },
}

impl tagged::TaggedEnum for DistObj {
    fn describe(kind: &str) -> String {
        format!("a {kind} distribution")
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration string such as \"250ms\", \"1.5s\" or \"2m\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Dur, E> {
                crate::time::parse_duration(s).map(Dur).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> Deserialize<'de> for DistSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = DistSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a distribution: a duration string such as \"10ms\", or an object such as \
                     {\"type\": \"exponential\", \"mean\": \"10ms\"}",
                )
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<DistSpec, E> {
                crate::time::parse_duration(s).map(|d| DistSpec::Constant(Dur(d))).map_err(E::custom)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<DistSpec, A::Error> {
                tagged::from_map(map).map(|(_, obj)| DistSpec::Full(obj))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for UniqueMap<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for Vis<V> {
            type Value = UniqueMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object keyed by name")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<UniqueMap<V>, A::Error> {
                let mut m = IndexMap::new();
                while let Some(k) = map.next_key::<String>()? {
                    if m.contains_key(&k) {
                        return Err(de::Error::custom(format!("each name once, but \"{k}\" appears twice")));
                    }
                    let v = map.next_value()?;
                    m.insert(k, v);
                }
                Ok(UniqueMap(m))
            }
        }
        d.deserialize_map(Vis(std::marker::PhantomData))
    }
}

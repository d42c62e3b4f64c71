//! Objects whose `type` field picks their shape, read into an enum with one struct
//! variant per type, without losing the JSON path of an error inside them.
//!
//! serde's own internally tagged enums (`#[serde(tag = "type")]`) buffer the object
//! before they know its type, and an error found in the buffer loses its path (the
//! loader could only say "somewhere in this object"). Here the object's entries are read
//! one by one through the caller's deserializer (so an error in a value keeps its path),
//! then the variant is built from them with its own path tracking, and an error inside it
//! is handed up with the path below the object (see [`nested`] and [`split`]).
//!
//! The enum itself derives `Deserialize` in serde's default (externally tagged) form,
//! which tells this module its variant names and each variant's fields: nothing is
//! listed by hand. A field the variant does not take is reported as today's validator
//! did: `a parameter of the constant backoff (base), found "cap"`, at that field's path.
//!
//! Numbers are read into `serde_json::Value` first, which keeps integers as integers
//! and floats as floats, so a field accepts exactly the numbers it accepted when it was
//! read straight from the file (an `f64` field takes `3`, a `u32` field refuses `3.0`).

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;
use std::marker::PhantomData;

/// An enum of struct (or unit) variants, one per value of its tag field.
pub trait TaggedEnum: DeserializeOwned {
    /// The JSON field that picks the variant.
    const TAG: &'static str = "type";
    /// The variant of an object without the tag field, if it may be left out.
    const DEFAULT: Option<&'static str> = None;
    /// How messages name an object of variant `kind`: `the constant backoff`.
    fn describe(kind: &str) -> String;
}

/// A tagged object, read as its enum `T`, with its tag as the file spells it (for
/// messages).
#[derive(Clone, Debug, PartialEq)]
pub struct Tagged<T> {
    pub kind: String,
    pub spec: T,
}

impl<T> std::ops::Deref for Tagged<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.spec
    }
}

impl<'de, T: TaggedEnum> de::Deserialize<'de> for Tagged<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: TaggedEnum> Visitor<'de> for V<T> {
            type Value = Tagged<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "an object with a \"{}\" field", T::TAG)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Tagged<T>, A::Error> {
                from_map(map).map(|(kind, spec)| Tagged { kind, spec })
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

/// Reads a tagged object from its entries (for types that accept other shapes too):
/// its tag and its variant.
pub fn from_map<'de, T: TaggedEnum, A: MapAccess<'de>>(mut map: A) -> Result<(String, T), A::Error> {
    let mut entries: Vec<(String, Value)> = Vec::new();
    let mut kind: Option<Value> = None;
    while let Some(k) = map.next_key::<String>()? {
        if entries.iter().any(|(e, _)| *e == k) || (k == T::TAG && kind.is_some()) {
            return Err(de::Error::custom(format_args!("duplicate field `{k}`")));
        }
        let v: Value = map.next_value()?;
        if k == T::TAG {
            kind = Some(v);
        } else {
            entries.push((k, v));
        }
    }
    let Some(kind) = kind.or_else(|| T::DEFAULT.map(|d| Value::String(d.to_string()))) else {
        return Err(de::Error::missing_field(T::TAG));
    };
    let kind: String =
        String::deserialize(kind).map_err(|e| nested::<A::Error>(&format!(".{}", T::TAG), e.to_string()))?;
    let shape = shape_of::<T>(&kind);
    let Some(fields) = shape.fields else {
        let msg = <de::value::Error as de::Error>::unknown_variant(&kind, shape.variants).to_string();
        return Err(nested(&format!(".{}", T::TAG), msg));
    };
    // A field this variant does not take: name the variant and what it takes.
    if let Some((k, _)) = entries.iter().find(|(k, _)| !fields.contains(&k.as_str())) {
        let takes = if fields.is_empty() { "none".to_string() } else { fields.join(", ") };
        return Err(nested(
            &format!(".{k}"),
            format!("a parameter of {} ({takes}), found \"{k}\"", T::describe(&kind)),
        ));
    }
    // serde's external form: `"kind"` for a unit variant, `{"kind": {...}}` otherwise.
    let repr = if shape.unit {
        Value::String(kind.clone())
    } else {
        let mut outer = Map::new();
        outer.insert(kind.clone(), Value::Object(entries.into_iter().collect()));
        Value::Object(outer)
    };
    let spec = serde_path_to_error::deserialize::<_, T>(repr).map_err(|err| {
        let full = err.path().to_string();
        // The path starts with the variant's name, which is not in the file.
        let below = full.strip_prefix(kind.as_str()).unwrap_or("").trim_start_matches('.');
        let msg = err.into_inner().to_string();
        let (inner_path, inner_msg) = split(&msg);
        let sub = if below.is_empty() { String::new() } else { format!(".{below}") };
        match (inner_path, inner_msg.strip_prefix("missing field `")) {
            (Some(p), _) => nested(&format!("{sub}{p}"), inner_msg),
            (None, Some(rest)) if sub.is_empty() => {
                let field = rest.trim_end_matches('`');
                nested(&format!(".{field}"), format!("\"{field}\", which {} requires", T::describe(&kind)))
            }
            (None, _) => nested(&sub, inner_msg),
        }
    })?;
    Ok((kind, spec))
}

/// What the derived `Deserialize` of `T` says of variant `kind`.
struct Shape {
    variants: &'static [&'static str],
    /// The variant's fields, or `None` if `T` has no such variant.
    fields: Option<&'static [&'static str]>,
    unit: bool,
}

/// Asks `T`'s derived `Deserialize` for its variants and for the fields of `kind`, with
/// a deserializer that answers nothing but records what it is asked.
fn shape_of<T: DeserializeOwned>(kind: &str) -> Shape {
    let mut shape = Shape { variants: &[], fields: None, unit: false };
    let _ = T::deserialize(Probe { kind, shape: &mut shape });
    shape
}

struct Probe<'a> {
    kind: &'a str,
    shape: &'a mut Shape,
}

impl<'de> Deserializer<'de> for Probe<'_> {
    type Error = de::value::Error;
    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("probe"))
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.shape.variants = variants;
        if !variants.contains(&self.kind) {
            return Err(de::Error::custom("probe"));
        }
        visitor.visit_enum(self)
    }
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct identifier ignored_any
    }
}

impl<'de> de::EnumAccess<'de> for Probe<'_> {
    type Error = de::value::Error;
    type Variant = Self;
    fn variant_seed<V: de::DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), Self::Error> {
        use de::IntoDeserializer;
        let name: de::value::StrDeserializer<'_, Self::Error> = self.kind.into_deserializer();
        let v = seed.deserialize(name)?;
        Ok((v, self))
    }
}

impl<'de> de::VariantAccess<'de> for Probe<'_> {
    type Error = de::value::Error;
    fn unit_variant(self) -> Result<(), Self::Error> {
        self.shape.fields = Some(&[]);
        self.shape.unit = true;
        Ok(())
    }
    fn newtype_variant_seed<S: de::DeserializeSeed<'de>>(self, _: S) -> Result<S::Value, Self::Error> {
        Err(de::Error::custom("probe: tagged enums have struct variants"))
    }
    fn tuple_variant<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("probe: tagged enums have struct variants"))
    }
    fn struct_variant<V: Visitor<'de>>(self, fields: &'static [&'static str], _: V) -> Result<V::Value, Self::Error> {
        self.shape.fields = Some(fields);
        Err(de::Error::custom("probe"))
    }
}

/// Marks an error found below a tagged object: `sub` is its path below the object
/// (`.delay.mean`), which the loader appends to the object's own path (see [`split`]).
pub fn nested<E: de::Error>(sub: &str, msg: impl fmt::Display) -> E {
    let msg = msg.to_string();
    // An error already marked by a tagged object inside this one: join the paths.
    match split(&msg) {
        (Some(inner), rest) => E::custom(format_args!("{MARK}{sub}{inner}{MARK}{rest}")),
        (None, _) => E::custom(format_args!("{MARK}{sub}{MARK}{msg}")),
    }
}

/// The path below a tagged object and the message of an error made by [`nested`], or
/// `(None, msg)` for any other error.
pub fn split(msg: &str) -> (Option<&str>, &str) {
    let Some(rest) = msg.strip_prefix(MARK) else { return (None, msg) };
    match rest.split_once(MARK) {
        Some((path, message)) => (Some(path), message),
        None => (None, msg),
    }
}

/// Brackets the sub-path in a message; a control character no scenario text contains
/// (JSON strings would escape it).
const MARK: &str = "\u{1}";

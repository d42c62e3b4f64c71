//! JSON paths into a scenario, as the reports write them: dotted keys with `[i]`
//! indices (`services.cart.endpoints.add.calls[0].timeout`), parsed once and applied to
//! a `serde_json::Value`.

use serde_json::{Map, Value};
use std::fmt;

/// One step of a path: an object key or an array index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// A parsed path, at least one step long, starting with a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonPath {
    text: String,
    steps: Vec<Step>,
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl JsonPath {
    /// Parses `a.b[2].c`. Keys are runs of characters other than `.`, `[`, `]` and
    /// whitespace (scenario names are letters, digits, `-` and `_`, field names
    /// camelCase); an index is a decimal number in brackets after a key or an index.
    ///
    /// # Errors
    /// A message saying what was expected, for the caller to place.
    pub fn parse(text: &str) -> Result<JsonPath, String> {
        let expected = || format!("a JSON path such as \"policies.default.retry.maxAttempts\", found \"{text}\"");
        let mut steps = Vec::new();
        let mut rest = text;
        let mut first = true;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('[') {
                let close = after.find(']').ok_or_else(expected)?;
                let digits = &after[..close];
                if first || digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(expected());
                }
                steps.push(Step::Index(digits.parse().map_err(|_| expected())?));
                rest = &after[close + 1..];
            } else {
                let body = if first { rest } else { rest.strip_prefix('.').ok_or_else(expected)? };
                let end = body.find(['.', '[']).unwrap_or(body.len());
                let key = &body[..end];
                if key.is_empty() || key.contains(|c: char| c == ']' || c.is_whitespace()) {
                    return Err(expected());
                }
                steps.push(Step::Key(key.to_string()));
                rest = &body[end..];
            }
            first = false;
        }
        if steps.is_empty() {
            return Err(expected());
        }
        Ok(JsonPath { text: text.to_string(), steps })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first key (every path starts with one).
    pub fn root(&self) -> &str {
        match &self.steps[0] {
            Step::Key(k) => k,
            Step::Index(_) => unreachable!("a path starts with a key"),
        }
    }

    /// The last key of the path, for short labels (`maxAttempts`).
    pub fn last_key(&self) -> &str {
        self.steps
            .iter()
            .rev()
            .find_map(|s| match s {
                Step::Key(k) => Some(k.as_str()),
                Step::Index(_) => None,
            })
            .unwrap_or(&self.text)
    }

    /// Whether `other` (a path as a scenario error gives it) is this path, lies inside
    /// it, or is one of the objects on the way to it.
    pub fn related_to(&self, other: &str) -> bool {
        let starts = |long: &str, short: &str| {
            long.strip_prefix(short).is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
        };
        starts(other, &self.text) || starts(&self.text, other)
    }

    /// Sets the value at this path in `doc`. Missing object keys are created (as empty
    /// objects on the way, the value at the end) when their parent is an object; an
    /// index must exist. Returns the path of the first key it created, if any, so that
    /// a scenario error about it can say the scenario had no such field.
    ///
    /// # Errors
    /// A message saying which step could not be followed and why.
    pub fn set(&self, doc: &mut Value, value: Value) -> Result<Option<String>, String> {
        let mut cur = doc;
        let mut walked = String::new();
        let mut created: Option<String> = None;
        for (i, step) in self.steps.iter().enumerate() {
            let last = i + 1 == self.steps.len();
            let here = if walked.is_empty() { "the scenario".to_string() } else { walked.clone() };
            cur = match step {
                Step::Key(k) => {
                    let Value::Object(map) = cur else {
                        return Err(format!("an object at {here} to hold \"{k}\", found {}", kind(cur)));
                    };
                    walked = if walked.is_empty() { k.clone() } else { format!("{walked}.{k}") };
                    if created.is_none() && !map.contains_key(k) {
                        created = Some(walked.clone());
                    }
                    if last {
                        map.insert(k.clone(), value);
                        return Ok(created);
                    }
                    map.entry(k.clone()).or_insert_with(|| Value::Object(Map::new()))
                }
                Step::Index(n) => {
                    let Value::Array(list) = cur else {
                        return Err(format!("an array at {here} to index with [{n}], found {}", kind(cur)));
                    };
                    let len = list.len();
                    let Some(slot) = list.get_mut(*n) else {
                        return Err(format!("an index below {len} at {here}, found [{n}]"));
                    };
                    walked = format!("{walked}[{n}]");
                    if last {
                        *slot = value;
                        return Ok(created);
                    }
                    slot
                }
            };
        }
        unreachable!("a path has at least one step and returns at its last")
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_keys_and_indices() {
        let p = JsonPath::parse("services.cart.endpoints.add.calls[0].timeout").unwrap();
        assert_eq!(p.steps.len(), 7);
        assert_eq!(p.steps[5], Step::Index(0));
        assert_eq!(p.last_key(), "timeout");
        assert_eq!(p.root(), "services");
        assert_eq!(JsonPath::parse("faults[1][2]").unwrap().steps.len(), 3);
        for bad in ["", ".a", "a.", "a..b", "[0]", "a[x]", "a[]", "a[1", "a]b", "a b", "a[0]b"] {
            assert!(JsonPath::parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn sets_creating_missing_keys() {
        let mut doc = json!({ "policies": { "default": { "timeout": "1s" } }, "faults": [ { "start": "1s" } ] });
        let created =
            JsonPath::parse("policies.default.circuitBreaker.failureRateThreshold").unwrap().set(&mut doc, json!(25));
        assert_eq!(created, Ok(Some("policies.default.circuitBreaker".to_string())));
        assert_eq!(JsonPath::parse("faults[0].start").unwrap().set(&mut doc, json!("2s")), Ok(None));
        assert_eq!(doc["policies"]["default"]["circuitBreaker"]["failureRateThreshold"], json!(25));
        assert_eq!(doc["faults"][0]["start"], json!("2s"));
    }

    #[test]
    fn says_which_step_fails() {
        let mut doc = json!({ "faults": [ { "start": "1s" } ], "name": "x" });
        let e = JsonPath::parse("faults[3].start").unwrap().set(&mut doc, json!(1)).unwrap_err();
        assert!(e.contains("an index below 1 at faults, found [3]"), "{e}");
        let e = JsonPath::parse("name.first").unwrap().set(&mut doc, json!(1)).unwrap_err();
        assert!(e.contains("an object at name"), "{e}");
        let e = JsonPath::parse("name[0]").unwrap().set(&mut doc, json!(1)).unwrap_err();
        assert!(e.contains("an array at name"), "{e}");
    }

    #[test]
    fn relates_paths_on_the_way() {
        let p = JsonPath::parse("policies.default.retry.maxAttempts").unwrap();
        assert!(p.related_to("policies.default.retry.maxAttempts"));
        assert!(p.related_to("policies.default"));
        assert!(!p.related_to("policies.defaults"));
        assert!(!p.related_to("services"));
    }
}

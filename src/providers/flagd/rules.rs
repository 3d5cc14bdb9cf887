//! Flag semantics (see the module docs of `flagd`): when a flag evaluates
//! on, which variant is its off or on one, and what makes it a kill switch.
//! Pure functions of a flag's JSON definition.

use serde_json::Value;

const OFF_WORDS: [&str; 3] = ["off", "disabled", "false"];
const ON_WORDS: [&str; 3] = ["on", "enabled", "true"];

pub(super) fn variants(flag: &Value) -> impl Iterator<Item = (&String, &Value)> {
    flag.get("variants")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|m| m.iter())
}

pub(super) fn variant<'a>(flag: &'a Value, name: &str) -> Option<&'a Value> {
    flag.get("variants").and_then(|v| v.get(name))
}

/// Every variant value is a bool.
pub fn is_boolean(flag: &Value) -> bool {
    let mut any = false;
    for (_, v) in variants(flag) {
        if !v.is_boolean() {
            return false;
        }
        any = true;
    }
    any
}

fn word_in(s: &str, words: &[&str]) -> bool {
    words.iter().any(|w| s.eq_ignore_ascii_case(w))
}

pub(super) fn is_off_like(flag: &Value, name: &str, value: &Value) -> bool {
    if is_boolean(flag) {
        return value == &Value::Bool(false);
    }
    word_in(name, &OFF_WORDS) || value.as_str().is_some_and(|s| word_in(s, &OFF_WORDS))
}

fn is_on_like(flag: &Value, name: &str, value: &Value) -> bool {
    if is_boolean(flag) {
        return value == &Value::Bool(true);
    }
    word_in(name, &ON_WORDS) || value.as_str().is_some_and(|s| word_in(s, &ON_WORDS))
}

/// Pick among matching variants: prefer the one named `preferred`.
fn pick(flag: &Value, pred: impl Fn(&str, &Value) -> bool, preferred: &str) -> Option<String> {
    let all: Vec<&String> = variants(flag)
        .filter(|(n, v)| pred(n, v))
        .map(|(n, _)| n)
        .collect();
    all.iter()
        .find(|n| n.eq_ignore_ascii_case(preferred))
        .or(all.first())
        .map(|n| (*n).clone())
}

pub fn off_variant(flag: &Value) -> Option<String> {
    pick(flag, |n, v| is_off_like(flag, n, v), "off")
}

pub fn on_variant(flag: &Value) -> Option<String> {
    pick(flag, |n, v| is_on_like(flag, n, v), "on")
}

/// The flag evaluates on by default (see the module docs).
pub fn evaluates_on(flag: &Value) -> bool {
    if flag.get("state").and_then(Value::as_str) != Some("ENABLED") {
        return false;
    }
    let Some(d) = flag.get("defaultVariant").and_then(Value::as_str) else {
        return false;
    };
    match variant(flag, d) {
        Some(v) => !is_off_like(flag, d, v),
        None => false,
    }
}

pub(super) fn targeting_is_set(flag: &Value) -> bool {
    match flag.get("targeting") {
        None | Some(Value::Null) => false,
        Some(Value::Object(m)) => !m.is_empty(),
        Some(_) => true,
    }
}

/// The kill-switch rule (see the module docs).
pub fn is_kill_switch(flag: &Value) -> bool {
    let Some(m) = flag.get("metadata").and_then(Value::as_object) else {
        return false;
    };
    let truthy = |k: &str| match m.get(k) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    };
    if truthy("killSwitch") || truthy("kill-switch") || truthy("kill_switch") {
        return true;
    }
    if m.get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.eq_ignore_ascii_case("kill-switch"))
    {
        return true;
    }
    match m.get("tags") {
        Some(Value::String(s)) => s
            .split(|c: char| c == ',' || c.is_whitespace())
            .any(|t| t.eq_ignore_ascii_case("kill-switch")),
        Some(Value::Array(a)) => a.iter().any(|t| {
            t.as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case("kill-switch"))
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::flagd::Doc;
    use std::path::Path;

    fn doc(s: &str) -> Doc {
        Doc::parse("t", Path::new("f.json"), s.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn on_rule_for_boolean_and_other_flags() {
        let d = doc(r#"{"flags":{
            "a":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"on"},
            "b":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"off"},
            "c":{"state":"DISABLED","variants":{"on":true,"off":false},"defaultVariant":"on"},
            "d":{"state":"ENABLED","variants":{"v1":"x","v2":"y"},"defaultVariant":"v2"},
            "e":{"state":"ENABLED","variants":{"red":"r","off":"none"},"defaultVariant":"off"},
            "f":{"state":"ENABLED","variants":{"yes":true,"no":false},"defaultVariant":null}}}"#);
        let on: Vec<(&str, bool)> = d.flags().map(|(k, _, f)| (k, evaluates_on(f))).collect();
        assert_eq!(
            on,
            vec![
                ("a", true),
                ("b", false),
                ("c", false),
                ("d", true),
                ("e", false),
                ("f", false)
            ]
        );
    }
}

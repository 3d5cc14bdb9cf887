//! The edit model: a parsed flag file ([`Doc`]), one planned edit
//! ([`Change`]), working out the edits that turn a flag on or off, and
//! applying them to the text so that only the changed values' bytes move.

use super::rules::{
    evaluates_on, is_boolean, is_off_like, off_variant, on_variant, variant, variants,
};
use super::{RESTORE_KEY, spans, yaml_edit};
use crate::model::Time;
use crate::providers::{ErrorKind, ProviderError};
use crate::text::SafeText;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::Path;

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// One step of a path into the document.
#[derive(Clone, Debug, PartialEq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// One planned edit.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// Where, from the document root.
    pub path: Vec<Seg>,
    /// The value before (`None` = absent).
    pub from: Option<Value>,
    /// The value after (`None` = removed).
    pub to: Option<Value>,
}

impl Change {
    /// The JSON pointer (RFC 6901), sanitized for display: a hostile flag
    /// key shows as inert text.
    pub(super) fn pointer(&self) -> String {
        let raw: String = self
            .path
            .iter()
            .map(|s| match s {
                Seg::Key(k) => format!("/{}", k.replace('~', "~0").replace('/', "~1")),
                Seg::Index(i) => format!("/{i}"),
            })
            .collect();
        SafeText::line(&raw).into_string()
    }

    pub(super) fn is_state(&self) -> bool {
        matches!(self.path.last(), Some(Seg::Key(k)) if k == "state")
    }

    /// JSON-patch-like description (RFC 6902 ops plus the old value).
    pub fn to_json(&self) -> Value {
        let op = match (&self.from, &self.to) {
            (None, _) => "add",
            (Some(_), None) => "remove",
            _ => "replace",
        };
        let mut v = json!({"op": op, "path": self.pointer()});
        if let Some(f) = &self.from {
            v["from_value"] = f.clone();
        }
        if let Some(t) = &self.to {
            v["value"] = t.clone();
        }
        v
    }

    pub(super) fn describe(&self) -> String {
        let show = |v: &Option<Value>| {
            v.as_ref()
                .map(Value::to_string)
                .unwrap_or_else(|| "(absent)".into())
        };
        let s = format!(
            "{}: {} → {}",
            self.pointer(),
            show(&self.from),
            show(&self.to)
        );
        SafeText::line(&s).into_string()
    }
}

/// How a flag file is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    /// `.yaml` / `.yml`, as flagd reads them.
    Yaml,
}

impl Format {
    /// By the file name, as flagd decides.
    pub fn of(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml") => {
                Format::Yaml
            }
            _ => Format::Json,
        }
    }
}

/// A parsed flag file.
pub struct Doc {
    pub text: String,
    pub sha256: String,
    pub value: Value,
    pub format: Format,
    /// Where the document starts (after a UTF-8 BOM).
    base: usize,
    pub mtime: Option<Time>,
}

/// The text as a JSON value, read as `format`; errors name the line and
/// column in words.
fn parse_value(format: Format, text: &str) -> Result<Value, (usize, usize, String)> {
    match format {
        Format::Json => serde_json::from_str(text).map_err(|e| {
            let msg = e.to_string();
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
            (e.line(), e.column(), msg)
        }),
        Format::Yaml => serde_yaml_ng::from_str(text).map_err(|e| {
            let (l, c) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
            (l, c, crate::providers::slo_defs::humanize(&e.to_string()))
        }),
    }
}

impl Doc {
    /// Parse file bytes; errors name the file and the line/column.
    pub fn parse(provider: &str, path: &Path, bytes: Vec<u8>) -> Result<Doc, ProviderError> {
        let sha256 = sha256_hex(&bytes);
        let text = String::from_utf8(bytes).map_err(|e| {
            ProviderError::new(
                provider,
                ErrorKind::Malformed,
                format!(
                    "{}: not UTF-8 (byte {})",
                    path.display(),
                    e.utf8_error().valid_up_to()
                ),
            )
        })?;
        let base = if text.starts_with('\u{feff}') {
            '\u{feff}'.len_utf8()
        } else {
            0
        };
        let format = Format::of(path);
        let value: Value = parse_value(format, &text[base..]).map_err(|(line, col, msg)| {
            ProviderError::new(
                provider,
                ErrorKind::Malformed,
                format!("{}:{line}:{col}: {msg}", path.display()),
            )
        })?;
        let shape = |m: String| {
            ProviderError::new(
                provider,
                ErrorKind::Shape,
                format!("{}: {m}", path.display()),
            )
        };
        let flags = value
            .get("flags")
            .ok_or_else(|| shape("no `flags` (is this a flagd flag-definition file?)".into()))?;
        match flags {
            Value::Object(m) => {
                for (k, f) in m {
                    check_flag(k, f).map_err(shape)?;
                }
            }
            Value::Array(a) => {
                for (i, f) in a.iter().enumerate() {
                    let k = f
                        .get("key")
                        .and_then(Value::as_str)
                        .ok_or_else(|| shape(format!("flags[{i}] has no string `key`")))?;
                    check_flag(k, f).map_err(shape)?;
                }
            }
            _ => return Err(shape("`flags` is neither an object nor an array".into())),
        }
        Ok(Doc {
            text,
            sha256,
            value,
            format,
            base,
            mtime: None,
        })
    }

    /// Every flag: key, path segment under `flags`, definition.
    pub fn flags(&self) -> Box<dyn Iterator<Item = (&str, Seg, &Value)> + '_> {
        match self.value.get("flags") {
            Some(Value::Object(m)) => {
                Box::new(m.iter().map(|(k, v)| (k.as_str(), Seg::Key(k.clone()), v)))
            }
            Some(Value::Array(a)) => Box::new(a.iter().enumerate().filter_map(|(i, v)| {
                v.get("key")
                    .and_then(Value::as_str)
                    .map(|k| (k, Seg::Index(i), v))
            })),
            _ => Box::new(std::iter::empty()),
        }
    }

    /// The flag named `key`: the raw key, or else the one flag whose
    /// sanitized key (as shown on screen) is `key`.
    pub fn find(&self, key: &str) -> Option<(&str, Seg, &Value)> {
        if let Some(f) = self.flags().filter(|(k, _, _)| *k == key).last() {
            return Some(f);
        }
        let mut shown = self
            .flags()
            .filter(|(k, _, _)| SafeText::line(k).as_str() == key);
        match (shown.next(), shown.next()) {
            (Some(f), None) => Some(f),
            _ => None,
        }
    }

    /// The edits that put `key` back as it was before a kill switch whose
    /// recorded edits are `recorded` (the `changes` of its audit record):
    /// each recorded edit undone, provided the flag still holds what the
    /// kill switch wrote. `None`: the flag changed since (or the record
    /// names other members), so the record cannot be trusted.
    pub fn restore_changes(&self, key: &str, recorded: &[Value]) -> Option<Vec<Change>> {
        let (_, seg, flag) = self.find(key)?;
        let base = vec![Seg::Key("flags".into()), seg];
        let mut candidates: Vec<Vec<Seg>> = ["defaultVariant", "state", "metadata"]
            .iter()
            .map(|f| {
                let mut p = base.clone();
                p.push(Seg::Key((*f).into()));
                p
            })
            .collect();
        let mut memo = base.clone();
        memo.push(Seg::Key("metadata".into()));
        memo.push(Seg::Key(RESTORE_KEY.into()));
        candidates.push(memo);
        let mut out = Vec::new();
        for r in recorded.iter().rev() {
            let pointer = r.get("path").and_then(Value::as_str)?;
            let path = candidates.iter().find(|p| {
                Change {
                    path: (*p).clone(),
                    from: None,
                    to: None,
                }
                .pointer()
                    == pointer
            })?;
            let current = value_at(flag, &path[2..]).cloned();
            if current.as_ref() != r.get("value") {
                return None;
            }
            out.push(Change {
                path: path.clone(),
                from: current,
                to: r.get("from_value").cloned(),
            });
        }
        Some(out)
    }

    /// The edits that make `key` evaluate `on` (empty: already so).
    pub fn changes_for(
        &self,
        provider: &str,
        key: &str,
        on: bool,
    ) -> Result<Vec<Change>, ProviderError> {
        let (_, seg, flag) = self.find(key).ok_or_else(|| {
            ProviderError::new(provider, ErrorKind::NotFound, format!("no flag {key}"))
        })?;
        // A YAML file is edited line by line: no metadata is added to it
        // (the audit record of the kill switch holds what to restore).
        let memo_ok = self.format == Format::Json;
        let at = |field: &str| {
            vec![
                Seg::Key("flags".into()),
                seg.clone(),
                Seg::Key(field.into()),
            ]
        };
        let mut out = Vec::new();
        if evaluates_on(flag) == on {
            return Ok(out);
        }
        let default = flag.get("defaultVariant").cloned();
        let state = flag.get("state").cloned();
        if !on {
            match off_variant(flag) {
                Some(off) => {
                    let prev = default.as_ref().and_then(Value::as_str).map(str::to_string);
                    out.push(Change {
                        path: at("defaultVariant"),
                        from: default,
                        to: Some(Value::String(off)),
                    });
                    if memo_ok
                        && !is_boolean(flag)
                        && on_variant(flag).is_none()
                        && let Some(prev) = prev
                    {
                        out.push(restore_memo_change(flag, &at("metadata"), Some(prev)));
                    }
                }
                None => out.push(Change {
                    path: at("state"),
                    from: state,
                    to: Some(json!("DISABLED")),
                }),
            }
            return Ok(out);
        }
        if state.as_ref().and_then(Value::as_str) != Some("ENABLED") {
            out.push(Change {
                path: at("state"),
                from: state,
                to: Some(json!("ENABLED")),
            });
        }
        let memo = flag
            .get("metadata")
            .and_then(|m| m.get(RESTORE_KEY))
            .and_then(Value::as_str)
            .filter(|v| variant(flag, v).is_some())
            .map(str::to_string);
        let default_is_on = default
            .as_ref()
            .and_then(Value::as_str)
            .and_then(|d| variant(flag, d).map(|v| !is_off_like(flag, d, v)))
            .unwrap_or(false);
        if !default_is_on {
            let target = memo.clone().or_else(|| on_variant(flag)).or_else(|| {
                let candidates: Vec<&String> = variants(flag)
                    .filter(|(n, v)| !is_off_like(flag, n, v))
                    .map(|(n, _)| n)
                    .collect();
                match candidates.as_slice() {
                    [one] => Some((*one).clone()),
                    _ => None,
                }
            });
            let Some(target) = target else {
                return Err(ProviderError::new(
                    provider,
                    ErrorKind::Conflict { status: 409 },
                    format!(
                        "cannot tell which variant turns {key} on (no `true`/`on` variant and no remembered one); edit the file"
                    ),
                ));
            };
            out.push(Change {
                path: at("defaultVariant"),
                from: default,
                to: Some(Value::String(target)),
            });
        }
        if flag
            .get("metadata")
            .and_then(|m| m.get(RESTORE_KEY))
            .is_some()
        {
            out.push(restore_memo_change(flag, &at("metadata"), None));
        }
        Ok(out)
    }

    /// Apply `changes` to the text, touching only their bytes, and verify
    /// the result is the original document with exactly those changes.
    pub fn edit(&self, provider: &str, changes: &[Change]) -> Result<String, ProviderError> {
        let fail = |m: &str| {
            ProviderError::new(
                provider,
                ErrorKind::Unknown,
                format!("refusing to write: {m}; the file was not changed"),
            )
        };
        let mut text = self.text.clone();
        let mut expected = self.value.clone();
        for c in changes {
            text = match self.format {
                Format::Json => {
                    let tree = spans::parse(&text, self.base)
                        .ok_or_else(|| fail("cannot locate values in the file"))?;
                    spans::apply(&text, &tree, c)
                }
                Format::Yaml => yaml_edit::apply(&text, c),
            }
            .ok_or_else(|| {
                fail("cannot locate the value to change (only block-style YAML flags are edited)")
            })?;
            apply_value(&mut expected, c).ok_or_else(|| fail("cannot apply the change"))?;
        }
        let got: Value = parse_value(self.format, &text[self.base..])
            .map_err(|_| fail("the edited file does not parse"))?;
        if got != expected {
            return Err(fail("the edited file differs from the planned change"));
        }
        Ok(text)
    }
}

/// The change that sets (`Some`) or removes (`None`) the remembered variant.
fn restore_memo_change(flag: &Value, meta_path: &[Seg], prev: Option<String>) -> Change {
    let meta = flag.get("metadata").and_then(Value::as_object);
    match (meta, prev) {
        // Removing the only key: drop the metadata object it was added in.
        (Some(m), None) if m.len() == 1 && m.contains_key(RESTORE_KEY) => Change {
            path: meta_path.to_vec(),
            from: flag.get("metadata").cloned(),
            to: None,
        },
        (Some(m), prev) => {
            let mut path = meta_path.to_vec();
            path.push(Seg::Key(RESTORE_KEY.into()));
            Change {
                path,
                from: m.get(RESTORE_KEY).cloned(),
                to: prev.map(Value::String),
            }
        }
        (None, prev) => Change {
            path: meta_path.to_vec(),
            from: flag.get("metadata").cloned(),
            to: prev.map(|p| json!({ RESTORE_KEY: p })),
        },
    }
}

fn value_at<'a>(root: &'a Value, path: &[Seg]) -> Option<&'a Value> {
    let mut cur = root;
    for s in path {
        cur = match s {
            Seg::Key(k) => cur.get(k.as_str())?,
            Seg::Index(i) => cur.get(*i)?,
        };
    }
    Some(cur)
}

fn apply_value(root: &mut Value, c: &Change) -> Option<()> {
    let (last, parents) = c.path.split_last()?;
    let mut cur = root;
    for s in parents {
        cur = match s {
            Seg::Key(k) => cur.get_mut(k.as_str())?,
            Seg::Index(i) => cur.get_mut(*i)?,
        };
    }
    let Seg::Key(k) = last else { return None };
    let obj = cur.as_object_mut()?;
    match &c.to {
        Some(v) => {
            obj.insert(k.clone(), v.clone());
        }
        None => {
            obj.remove(k);
        }
    }
    Some(())
}

fn check_flag(key: &str, f: &Value) -> Result<(), String> {
    if !f.is_object() {
        return Err(format!("flag {key:?} is not an object"));
    }
    match f.get("variants") {
        Some(Value::Object(_)) => Ok(()),
        _ => Err(format!("flag {key:?} has no `variants` object")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(s: &str) -> Doc {
        Doc::parse("t", Path::new("f.json"), s.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn insert_and_remove_members_keep_the_rest() {
        let text = "{\n  \"flags\": {\n    \"s\": {\n      \"state\": \"ENABLED\",\n      \"variants\": {\"a\": \"1\", \"b\": \"2\", \"off\": \"0\"},\n      \"defaultVariant\": \"b\"\n    }\n  }\n}\n";
        let d = doc(text);
        let off = d.changes_for("t", "s", false).unwrap();
        assert_eq!(off.len(), 2, "{off:?}");
        let t1 = d.edit("t", &off).unwrap();
        assert!(t1.contains("\"defaultVariant\": \"off\",\n      \"metadata\": {\"sitrepRestoreVariant\":\"b\"}\n"), "{t1}");
        let d1 = doc(&t1);
        assert!(!evaluates_on(d1.value["flags"].get("s").unwrap()));
        let on = d1.changes_for("t", "s", true).unwrap();
        let t2 = d1.edit("t", &on).unwrap();
        assert_eq!(t2, text);
    }

    #[test]
    fn memo_goes_into_existing_metadata_and_comes_out_again() {
        let text = "\u{feff}{\"flags\": {\"s\": {\"state\": \"ENABLED\", \"variants\": {\"a\": 1, \"b\": 2, \"disabled\": 0},\n  \"defaultVariant\": \"a\", \"metadata\": {\"owner\": \"x\"}}}}";
        let d = doc(text);
        let off = d.changes_for("t", "s", false).unwrap();
        let t1 = d.edit("t", &off).unwrap();
        assert!(
            t1.contains(r#""metadata": {"owner": "x", "sitrepRestoreVariant": "a"}"#),
            "{t1}"
        );
        let d1 = doc(&t1);
        let t2 = d1
            .edit("t", &d1.changes_for("t", "s", true).unwrap())
            .unwrap();
        assert_eq!(t2, text);
    }

    #[test]
    fn ambiguous_restore_is_refused() {
        let d = doc(
            r#"{"flags":{"s":{"state":"ENABLED","variants":{"a":"1","b":"2","off":"0"},"defaultVariant":"off"}}}"#,
        );
        let e = d.changes_for("t", "s", true).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Conflict { status: 409 });
        assert!(e.to_string().contains("cannot tell which variant"), "{e}");
        // One candidate: it is chosen.
        let d = doc(
            r#"{"flags":{"s":{"state":"DISABLED","variants":{"a":"1","off":"0"},"defaultVariant":"off"}}}"#,
        );
        let c = d.changes_for("t", "s", true).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[1].to, Some(json!("a")));
    }

    #[test]
    fn edit_verification_rejects_a_wrong_change() {
        let d = doc(
            r#"{"flags":{"a":{"state":"ENABLED","variants":{"on":true},"defaultVariant":"on"}}}"#,
        );
        let c = Change {
            path: vec![
                Seg::Key("flags".into()),
                Seg::Key("zz".into()),
                Seg::Key("state".into()),
            ],
            from: None,
            to: Some(json!("DISABLED")),
        };
        assert!(d.edit("t", &[c]).is_err());
    }
}

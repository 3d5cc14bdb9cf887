//! Textual edits of a YAML flag file: replace, add or remove one scalar
//! member of a flag (`state`, `defaultVariant`) in block style, touching
//! only that line. Anything else (flow style, anchors, a list of flags)
//! answers `None` and nothing is written; the caller re-parses the result
//! and compares it with the planned document.

use super::doc::{Change, Seg};
use serde_json::Value;

struct Line<'a> {
    start: usize,
    text: &'a str,
}

fn lines(text: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    for l in text.split_inclusive('\n') {
        out.push(Line { start, text: l });
        start += l.len();
    }
    out
}

fn indent(l: &str) -> usize {
    l.len() - l.trim_start_matches(' ').len()
}

fn is_content(l: &str) -> bool {
    let t = l.trim();
    !(t.is_empty() || t.starts_with('#'))
}

fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .or_else(|| s.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
        .unwrap_or(s)
}

/// `key: rest` at the line's indentation → (key, byte offset of the value
/// within the line, the value token's length).
fn entry(l: &str) -> Option<(String, usize, usize)> {
    let body = l.trim_end_matches(['\n', '\r']);
    let ind = indent(body);
    let t = &body[ind..];
    let colon = if t.starts_with(['"', '\'']) {
        let q = &t[..1];
        let close = t[1..].find(q)? + 1;
        close + 1 + t[close + 1..].find(':')?
    } else {
        t.find(": ")
            .or_else(|| t.strip_suffix(':').map(|s| s.len()))?
    };
    let key = unquote(t[..colon].trim()).to_string();
    let after = &t[colon + 1..];
    let value_off = after.len() - after.trim_start().len();
    let value = after.trim_start();
    // The token ends at a comment or the end of the line.
    let len = match value.find(" #") {
        Some(i) => value[..i].trim_end().len(),
        None => value.trim_end().len(),
    };
    Some((key, ind + colon + 1 + value_off, len))
}

/// The lines of the block under line `i` (indented deeper than it).
fn block(ls: &[Line<'_>], i: usize) -> (usize, usize) {
    let base = indent(ls[i].text);
    let mut end = i + 1;
    while end < ls.len() && (!is_content(ls[end].text) || indent(ls[end].text) > base) {
        end += 1;
    }
    // Trailing blank or comment lines belong to what follows.
    while end > i + 1 && !is_content(ls[end - 1].text) {
        end -= 1;
    }
    (i + 1, end)
}

/// The member `key` among the direct children of `range`.
fn child(ls: &[Line<'_>], range: (usize, usize), key: &str) -> Option<usize> {
    let first = (range.0..range.1).find(|&i| is_content(ls[i].text))?;
    let ind = indent(ls[first].text);
    (range.0..range.1).find(|&i| {
        is_content(ls[i].text)
            && indent(ls[i].text) == ind
            && !ls[i].text.trim_start().starts_with('-')
            && entry(ls[i].text).is_some_and(|(k, _, _)| k == key)
    })
}

/// Words YAML 1.1 readers take for booleans or null.
fn needs_quotes(s: &str) -> bool {
    const SPECIAL: [&str; 12] = [
        "y", "yes", "n", "no", "on", "off", "true", "false", "null", "~", "", "-",
    ];
    SPECIAL.iter().any(|w| s.eq_ignore_ascii_case(w))
        || s.parse::<f64>().is_ok()
        || !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
        || s.starts_with(['-', '.'])
}

/// A scalar in the style of the token it replaces: quotes only when the
/// value needs them or the old token had them by choice.
fn scalar(v: &Value, old: &str) -> Option<String> {
    match v {
        Value::String(s) => {
            let old_quote = old.chars().next().filter(|c| *c == '"' || *c == '\'');
            let old_forced = old_quote.is_some() && needs_quotes(unquote(old));
            let quote = match (needs_quotes(s), old_quote) {
                (false, Some(_)) if old_forced => None,
                (_, Some(q)) => Some(q),
                (true, None) => Some('"'),
                (false, None) => None,
            };
            match quote {
                None => Some(s.clone()),
                Some('\'') if !s.contains('\'') && !s.contains('\n') => Some(format!("'{s}'")),
                Some(_) => serde_json::to_string(s).ok(),
            }
        }
        Value::Null => Some("null".into()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Apply one change to the text of a map-form YAML flag file.
pub fn apply(text: &str, c: &Change) -> Option<String> {
    let [Seg::Key(flags), Seg::Key(flag), Seg::Key(field)] = c.path.as_slice() else {
        return None;
    };
    if flags != "flags" {
        return None;
    }
    let ls = lines(text);
    let top = child(&ls, (0, ls.len()), "flags")?;
    if indent(ls[top].text) != 0 {
        return None;
    }
    let f = child(&ls, block(&ls, top), flag)?;
    let (_, off, len) = entry(ls[f].text)?;
    if len != 0 {
        return None; // flow style: `key: {...}`
    }
    let members = block(&ls, f);
    let at = child(&ls, members, field);
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let _ = off;
    let mut out = String::with_capacity(text.len() + 32);
    match (at, &c.to) {
        (Some(i), Some(v)) => {
            let (_, voff, vlen) = entry(ls[i].text)?;
            let start = ls[i].start + voff;
            let old = text.get(start..start + vlen)?;
            out.push_str(text.get(..start)?);
            out.push_str(&scalar(v, old)?);
            out.push_str(text.get(start + vlen..)?);
        }
        (Some(i), None) => {
            out.push_str(text.get(..ls[i].start)?);
            out.push_str(text.get(ls[i].start + ls[i].text.len()..)?);
        }
        (None, Some(v)) => {
            let first = (members.0..members.1).find(|&i| is_content(ls[i].text))?;
            let ind = " ".repeat(indent(ls[first].text));
            let line = format!("{ind}{field}: {}{eol}", scalar(v, "")?);
            let pos = ls[f].start + ls[f].text.len();
            out.push_str(text.get(..pos)?);
            if !ls[f].text.ends_with('\n') {
                out.push_str(eol);
            }
            out.push_str(&line);
            out.push_str(text.get(pos..)?);
        }
        (None, None) => return Some(text.to_string()),
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn change(flag: &str, field: &str, to: Option<Value>) -> Change {
        Change {
            path: vec![
                Seg::Key("flags".into()),
                Seg::Key(flag.into()),
                Seg::Key(field.into()),
            ],
            from: None,
            to,
        }
    }

    const TEXT: &str = "# c\nflags:\n  a:\n    state: ENABLED # s\n    variants:\n      'on': true\n      'off': false\n    defaultVariant: 'on'\n  b:\n    variants: {x: 1}\n    defaultVariant: fallback\n";

    #[test]
    fn replace_keeps_style_and_comments() {
        let t = apply(TEXT, &change("a", "defaultVariant", Some(json!("off")))).unwrap();
        assert!(t.contains("    defaultVariant: 'off'\n"), "{t}");
        let t2 = apply(&t, &change("a", "defaultVariant", Some(json!("on")))).unwrap();
        assert_eq!(t2, TEXT);
        let t = apply(TEXT, &change("a", "state", Some(json!("DISABLED")))).unwrap();
        assert!(t.contains("    state: DISABLED # s\n"), "{t}");
        // Forced quotes go again when the value no longer needs them.
        let t = apply(TEXT, &change("b", "defaultVariant", Some(json!("false")))).unwrap();
        assert!(t.contains("defaultVariant: \"false\"\n"), "{t}");
        let t2 = apply(&t, &change("b", "defaultVariant", Some(json!("fallback")))).unwrap();
        assert_eq!(t2, TEXT);
    }

    #[test]
    fn add_and_remove_a_member() {
        let t = apply(TEXT, &change("b", "state", Some(json!("DISABLED")))).unwrap();
        assert!(t.contains("  b:\n    state: DISABLED\n    variants"), "{t}");
        let t2 = apply(&t, &change("b", "state", None)).unwrap();
        assert_eq!(t2, TEXT);
        assert!(apply(TEXT, &change("zz", "state", None)).is_none());
    }
}

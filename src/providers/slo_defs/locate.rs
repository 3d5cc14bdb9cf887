//! Where things are in a YAML file, for messages: the line a document, a
//! list item or a key starts on, and parser messages in plain words.
//!
//! serde_yaml_ng gives a position for syntax errors and for type errors
//! met while deserializing the text itself, but a checked value (an
//! objective out of range, an unsupported kind) has no position once it is
//! a `Value`. This finds it in the text instead: by document, then by the
//! key (and value) it was read from. It answers the nearest enclosing line
//! when the exact one cannot be told (flow style, anchors).

/// A position: 1-based line and column.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

/// A YAML text split into lines and documents.
pub struct Src<'a> {
    lines: Vec<&'a str>,
    /// 0-based line index where each document starts, in order.
    docs: Vec<usize>,
}

fn is_marker(line: &str) -> bool {
    line.strip_prefix("---")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r']))
}

fn is_content(line: &str) -> bool {
    let t = line.trim();
    !(t.is_empty() || t.starts_with('#') || t.starts_with('%') || t == "\u{feff}")
}

impl<'a> Src<'a> {
    pub fn new(text: &'a str) -> Self {
        let lines: Vec<&str> = text.split('\n').collect();
        let mut docs = Vec::new();
        let first_marker = lines.iter().position(|l| is_marker(l));
        let head_end = first_marker.unwrap_or(lines.len());
        if lines[..head_end].iter().any(|l| is_content(l)) {
            docs.push(
                lines[..head_end]
                    .iter()
                    .position(|l| is_content(l))
                    .unwrap_or(0),
            );
        }
        for (i, l) in lines.iter().enumerate() {
            if is_marker(l) {
                docs.push(i);
            }
        }
        Src { lines, docs }
    }

    /// Lines `[start, end)` of document `i` (the whole text when unknown).
    pub fn doc(&self, i: usize) -> (usize, usize) {
        match self.docs.get(i) {
            Some(&s) => (s, self.docs.get(i + 1).copied().unwrap_or(self.lines.len())),
            None => (0, self.lines.len()),
        }
    }

    /// The position of the first content line in `range`.
    pub fn start(&self, range: (usize, usize)) -> Pos {
        let (s, e) = range;
        let line = (s..e)
            .find(|&i| is_content(self.lines[i]) && !is_marker(self.lines[i]))
            .unwrap_or(s);
        let col = self
            .lines
            .get(line)
            .map(|l| l.len() - l.trim_start().len())
            .unwrap_or(0);
        Pos {
            line: line + 1,
            col: col + 1,
        }
    }

    /// The line ranges of the items of a block list that is the whole of
    /// `range` (a document that is a list). `None` unless there are exactly
    /// `n` of them (flow style, nested oddities).
    pub fn items(&self, range: (usize, usize), n: usize) -> Option<Vec<(usize, usize)>> {
        let (s, e) = range;
        let dash = |l: &str| {
            let t = l.trim_start();
            (t == "-" || t.starts_with("- ") || t.starts_with("-\t") || t == "-\r")
                .then(|| l.len() - t.len())
        };
        let indent = (s..e).find_map(|i| dash(self.lines[i]))?;
        let starts: Vec<usize> = (s..e)
            .filter(|&i| dash(self.lines[i]) == Some(indent))
            .collect();
        if starts.len() != n {
            return None;
        }
        Some(
            starts
                .iter()
                .enumerate()
                .map(|(k, &st)| (st, starts.get(k + 1).copied().unwrap_or(e)))
                .collect(),
        )
    }

    /// The first line in `range` holding `key:` (with `value`, if given),
    /// and the rest of the range from there.
    pub fn key(&self, range: (usize, usize), key: &str, value: Option<&str>) -> Option<Pos> {
        let (s, e) = range;
        (s..e.min(self.lines.len())).find_map(|i| {
            let (col, k, v) = split_entry(self.lines[i])?;
            (k == key && value.is_none_or(|want| v == want)).then_some(Pos {
                line: i + 1,
                col: col + 1,
            })
        })
    }

    /// `range` from the line of `pos` on.
    pub fn from(&self, range: (usize, usize), pos: Pos) -> (usize, usize) {
        (pos.line.saturating_sub(1).max(range.0), range.1)
    }
}

/// `  - key: value # comment` → (column of key, key, value).
fn split_entry(line: &str) -> Option<(usize, &str, &str)> {
    let mut rest = line;
    let mut col = 0;
    loop {
        let t = rest.trim_start();
        col += rest.len() - t.len();
        rest = t;
        match rest.strip_prefix('-') {
            Some(r) if r.starts_with([' ', '\t']) => {
                col += 1;
                rest = r;
            }
            _ => break,
        }
    }
    let colon = rest.find(':')?;
    let key = unquote(&rest[..colon]);
    if key.is_empty() || key.contains([' ', '{', '[', '#']) && !rest.starts_with(['"', '\'']) {
        return None;
    }
    let after = &rest[colon + 1..];
    if !(after.is_empty() || after.starts_with([' ', '\t', '\r'])) {
        return None;
    }
    let value = match after.find(" #") {
        Some(i) => &after[..i],
        None => after,
    };
    let value = unquote(value.trim_end_matches([',', '\r']));
    Some((col, key, value))
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .or_else(|| s.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
        .unwrap_or(s)
}

/// `msg` without the parser's " at line L column C" (anywhere in it).
fn strip_position(msg: &str) -> String {
    let mut out = msg.to_string();
    while let Some(i) = out.find(" at line ") {
        let tail = &out[i + " at line ".len()..];
        let digits = |s: &str| s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let n1 = digits(tail);
        let Some(after) = tail[n1..].strip_prefix(" column ") else {
            break;
        };
        let n2 = digits(after);
        if n1 == 0 || n2 == 0 {
            break;
        }
        let end = i + " at line ".len() + n1 + " column ".len() + n2;
        out.replace_range(i..end, "");
    }
    out
}

/// A serde / YAML parser message in words: no Rust type names, no
/// "invalid type", and without the parser's own "at line L column C"
/// (callers put the position first).
pub fn humanize(msg: &str) -> String {
    let m = strip_position(msg);
    let words = |s: &str| {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while !rest.is_empty() {
            let (tok, tail) = match rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                Some(0) => (
                    &rest[..rest.chars().next().map_or(1, char::len_utf8)],
                    &rest[rest.chars().next().map_or(1, char::len_utf8)..],
                ),
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, ""),
            };
            rest = tail;
            match tok {
                "struct" | "map" => {
                    out.push_str("mapping");
                    // "struct OsDoc": drop the type name.
                    if tok == "struct"
                        && let Some(r) = rest.strip_prefix(' ')
                    {
                        let end = r
                            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                            .unwrap_or(r.len());
                        rest = &r[end..];
                    }
                }
                "sequence" | "seq" => out.push_str("list"),
                "f64" | "f32" => out.push_str("number"),
                "u8" | "u16" | "u32" | "u64" | "usize" | "i8" | "i16" | "i32" | "i64" | "isize" => {
                    out.push_str("whole number")
                }
                "unit" => out.push_str("null"),
                t => out.push_str(t),
            }
        }
        out
    };
    let m = words(&m);
    // "invalid type: X, expected Y" → "found X where Y was expected".
    for prefix in ["invalid type: ", "invalid value: ", "invalid length "] {
        if let Some(i) = m.find(prefix) {
            let (head, body) = m.split_at(i);
            let body = &body[prefix.len()..];
            if let Some((found, expected)) = body.split_once(", expected ") {
                return format!("{head}found {found} where {expected} was expected");
            }
            return format!("{head}wrong value: {body}");
        }
    }
    if let Some(i) = m.find("missing field `") {
        let (head, body) = m.split_at(i);
        let name = body["missing field `".len()..].trim_end_matches('`');
        return format!("{head}`{name}` is missing");
    }
    m
}

/// `source:line:col: message`.
pub fn at(source: &str, pos: Pos, message: &str) -> String {
    format!("{source}:{}:{}: {message}", pos.line, pos.col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_items_and_keys() {
        let text = "# c\n- apiVersion: openslo/v1\n  kind: SLO\n  metadata:\n    name: a\n- kind: Service\n---\napiVersion: x\nname: \"b\" # note\n";
        let s = Src::new(text);
        assert_eq!(s.doc(0), (1, 6));
        assert_eq!(s.doc(1), (6, 10));
        let items = s.items(s.doc(0), 2).unwrap();
        assert_eq!(items, vec![(1, 5), (5, 6)]);
        assert_eq!(s.key(items[0], "kind", None), Some(Pos { line: 3, col: 3 }));
        assert_eq!(
            s.key(items[0], "apiVersion", None),
            Some(Pos { line: 2, col: 3 })
        );
        assert_eq!(
            s.key(s.doc(1), "name", Some("b")),
            Some(Pos { line: 9, col: 1 })
        );
        assert_eq!(s.key(s.doc(1), "name", Some("c")), None);
        assert_eq!(s.start(s.doc(1)), Pos { line: 8, col: 1 });
        assert!(s.items(s.doc(0), 3).is_none());
    }

    #[test]
    fn messages_in_words() {
        for (raw, want) in [
            (
                "invalid type: sequence, expected struct OsDoc at line 1 column 1",
                "found list where mapping was expected",
            ),
            (
                "slos[0].objective: invalid type: string \"x\", expected f64",
                "slos[0].objective: found string \"x\" where number was expected",
            ),
            ("missing field `service`", "`service` is missing"),
        ] {
            assert_eq!(humanize(raw), want);
        }
    }
}

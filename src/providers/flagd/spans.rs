//! A minimal JSON scanner that records where every value is, so an edit can
//! replace exactly the bytes of one value. It runs only on text serde_json
//! has already accepted, and answers `None` rather than guess.

use super::doc::{Change, Seg};

#[derive(Debug, Clone)]
pub enum Node {
    Object { start: usize, members: Vec<Member> },
    Array { items: Vec<Node> },
    Scalar,
}

#[derive(Debug, Clone)]
pub struct Member {
    pub key: String,
    pub key_start: usize,
    pub key_end: usize,
    pub value_start: usize,
    pub value_end: usize,
    pub value: Node,
}

pub fn parse(text: &str, from: usize) -> Option<Node> {
    let mut p = Parser {
        text,
        b: text.as_bytes(),
        i: from,
    };
    p.ws();
    let (n, _, _) = p.value(0)?;
    p.ws();
    (p.i == p.b.len()).then_some(n)
}

struct Parser<'a> {
    text: &'a str,
    b: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while matches!(self.b.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn string(&mut self) -> Option<()> {
        if self.peek()? != b'"' {
            return None;
        }
        self.i += 1;
        loop {
            match self.peek()? {
                b'\\' => self.i += 2,
                b'"' => {
                    self.i += 1;
                    return Some(());
                }
                _ => self.i += 1,
            }
        }
    }

    /// A value and its byte span.
    fn value(&mut self, depth: usize) -> Option<(Node, usize, usize)> {
        if depth > 512 {
            return None;
        }
        let start = self.i;
        let node = match self.peek()? {
            b'{' => {
                self.i += 1;
                let mut members = Vec::new();
                self.ws();
                if self.peek()? == b'}' {
                    self.i += 1;
                } else {
                    loop {
                        self.ws();
                        let key_start = self.i;
                        self.string()?;
                        let key_end = self.i;
                        let key: String =
                            serde_json::from_str(self.text.get(key_start..key_end)?).ok()?;
                        self.ws();
                        if self.peek()? != b':' {
                            return None;
                        }
                        self.i += 1;
                        self.ws();
                        let (value, value_start, value_end) = self.value(depth + 1)?;
                        members.push(Member {
                            key,
                            key_start,
                            key_end,
                            value_start,
                            value_end,
                            value,
                        });
                        self.ws();
                        match self.peek()? {
                            b',' => self.i += 1,
                            b'}' => {
                                self.i += 1;
                                break;
                            }
                            _ => return None,
                        }
                    }
                }
                Node::Object { start, members }
            }
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.peek()? == b']' {
                    self.i += 1;
                } else {
                    loop {
                        self.ws();
                        let (v, _, _) = self.value(depth + 1)?;
                        items.push(v);
                        self.ws();
                        match self.peek()? {
                            b',' => self.i += 1,
                            b']' => {
                                self.i += 1;
                                break;
                            }
                            _ => return None,
                        }
                    }
                }
                Node::Array { items }
            }
            b'"' => {
                self.string()?;
                Node::Scalar
            }
            _ => {
                while let Some(c) = self.peek() {
                    if matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                        break;
                    }
                    self.i += 1;
                }
                if self.i == start {
                    return None;
                }
                Node::Scalar
            }
        };
        Some((node, start, self.i))
    }
}

fn child<'n>(n: &'n Node, s: &Seg) -> Option<&'n Node> {
    match (n, s) {
        // Last one wins, as in serde_json.
        (Node::Object { members, .. }, Seg::Key(k)) => {
            members.iter().rev().find(|m| &m.key == k).map(|m| &m.value)
        }
        (Node::Array { items }, Seg::Index(i)) => items.get(*i),
        _ => None,
    }
}

/// The text with `c` applied, or `None` if it cannot be located.
pub fn apply(text: &str, root: &Node, c: &Change) -> Option<String> {
    let (Seg::Key(key), parents) = c.path.split_last()? else {
        return None;
    };
    let mut cur = root;
    for s in parents {
        cur = child(cur, s)?;
    }
    let Node::Object { start, members } = cur else {
        return None;
    };
    let idx = members.iter().rposition(|m| &m.key == key);
    let splice = |from: usize, to: usize, with: &str| -> Option<String> {
        let mut out = String::with_capacity(text.len() + with.len());
        out.push_str(text.get(..from)?);
        out.push_str(with);
        out.push_str(text.get(to..)?);
        Some(out)
    };
    match (idx, &c.to) {
        (Some(i), Some(v)) => {
            let m = &members[i];
            splice(m.value_start, m.value_end, &serde_json::to_string(v).ok()?)
        }
        (None, Some(v)) => {
            let member = format!(
                "{}{}{}",
                serde_json::to_string(key).ok()?,
                members
                    .last()
                    .and_then(|m| text.get(m.key_end..m.value_start))
                    .unwrap_or(": "),
                serde_json::to_string(v).ok()?
            );
            match members.last() {
                Some(last) => {
                    // Same whitespace as before the last member's key
                    // (a single member on the `{` line: one space when
                    // the file puts a space after its colons).
                    let before = text.get(..last.key_start)?;
                    let ws_start = before.trim_end_matches([' ', '\t', '\n', '\r']).len();
                    let mut ws = text.get(ws_start..last.key_start)?;
                    let colon = text.get(last.key_end..last.value_start).unwrap_or("");
                    if ws.is_empty() && members.len() == 1 && colon.ends_with(' ') {
                        ws = " ";
                    }
                    splice(last.value_end, last.value_end, &format!(",{ws}{member}"))
                }
                None => splice(start + 1, start + 1, &member),
            }
        }
        (Some(i), None) => {
            let m = &members[i];
            if i + 1 < members.len() {
                splice(m.key_start, members[i + 1].key_start, "")
            } else if i > 0 {
                splice(members[i - 1].value_end, m.value_end, "")
            } else {
                splice(m.key_start, m.value_end, "")
            }
        }
        (None, None) => Some(text.to_string()),
    }
}

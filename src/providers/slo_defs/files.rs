//! Reading SLO spec files: every YAML (or JSON) document of every file,
//! each one a single object or a list of objects, handed to the reader of
//! its form:
//! - Sloth `version: "prometheus/v1"` specs and Sloth Kubernetes CRDs
//!   (`apiVersion: sloth.slok.dev/v1`, `kind: PrometheusServiceLevel`)
//!   go to `sloth`;
//! - OpenSLO objects (`apiVersion: openslo/v1` or `openslo/v1alpha`) go to
//!   `openslo`, which reads them together (an SLO may name an SLI of
//!   another file).
//!
//! Anything else is refused with the file, the line and the reason.

use super::locate::{Pos, Src, at, humanize};
use super::{SloDef, SloProblem, openslo, sloth};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_yaml_ng::Value;

/// One object of a file: a whole document or one item of a list document.
pub struct Obj<'a> {
    pub source: &'a str,
    text: &'a str,
    pub src: &'a Src<'a>,
    doc: usize,
    /// Its lines.
    pub range: (usize, usize),
    pub value: Value,
    whole_doc: bool,
}

impl Obj<'_> {
    /// The object as `T`; a fault names the file, line and column.
    pub fn typed<T: DeserializeOwned>(&self) -> Result<T, String> {
        if self.whole_doc
            && let Some(doc) = serde_yaml_ng::Deserializer::from_str(self.text).nth(self.doc)
        {
            return T::deserialize(doc).map_err(|e| yaml_error(self.source, &e, self.start()));
        }
        serde_yaml_ng::from_value(self.value.clone())
            .map_err(|e| at(self.source, self.start(), &humanize(&e.to_string())))
    }

    /// Where the object starts.
    pub fn start(&self) -> Pos {
        self.src.start(self.range)
    }

    /// Where `key:` (with `value`) is, from `from` on; else `from` itself.
    pub fn pos(&self, from: Pos, key: &str, value: Option<&str>) -> Pos {
        self.src
            .key(self.src.from(self.range, from), key, value)
            .unwrap_or(from)
    }

    /// `source:line:col: message`.
    pub fn msg(&self, pos: Pos, message: &str) -> String {
        at(self.source, pos, message)
    }

    /// `source:line:col`, the place an SLO was read from.
    pub fn place(&self, pos: Pos) -> String {
        format!("{}:{}:{}", self.source, pos.line, pos.col)
    }

    pub fn str_at(&self, path: &[&str]) -> Option<&str> {
        let mut v = &self.value;
        for k in path {
            v = v.get(*k)?;
        }
        v.as_str()
    }
}

/// `<source>:<line>:<column>: <message in words>` for a YAML error, at
/// `fallback` when the parser gives no position.
pub fn yaml_error(source: &str, e: &serde_yaml_ng::Error, fallback: Pos) -> String {
    let pos = e
        .location()
        .map(|l| Pos {
            line: l.line(),
            col: l.column(),
        })
        .unwrap_or(fallback);
    at(source, pos, &humanize(&e.to_string()))
}

pub fn file_problem(source: &str, message: String) -> SloProblem {
    SloProblem {
        name: source.to_string(),
        service: None,
        objective: 0.0,
        window: None,
        message,
    }
}

/// Read `(source, text)` files together.
pub fn parse_files(files: &[(String, String)]) -> (Vec<SloDef>, Vec<SloProblem>) {
    let mut defs = Vec::new();
    let mut problems = Vec::new();
    let mut os = openslo::Reader::default();
    for (source, text) in files {
        let src = Src::new(text);
        for (i, doc) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
            let range = src.doc(i);
            let value = match Value::deserialize(doc) {
                Ok(v) => v,
                Err(e) => {
                    problems.push(file_problem(
                        source,
                        yaml_error(source, &e, src.start(range)),
                    ));
                    // The parser cannot resume after a syntax error.
                    break;
                }
            };
            let objs: Vec<Obj<'_>> = match value {
                Value::Null => continue, // an empty document (`---` at the end)
                Value::Sequence(items) => {
                    let ranges = src.items(range, items.len());
                    items
                        .into_iter()
                        .enumerate()
                        .map(|(k, value)| Obj {
                            source,
                            text,
                            src: &src,
                            doc: i,
                            range: ranges.as_ref().map_or(range, |r| r[k]),
                            value,
                            whole_doc: false,
                        })
                        .collect()
                }
                value @ Value::Mapping(_) => vec![Obj {
                    source,
                    text,
                    src: &src,
                    doc: i,
                    range,
                    value,
                    whole_doc: true,
                }],
                _ => {
                    problems.push(file_problem(
                        source,
                        at(
                            source,
                            src.start(range),
                            "this document is neither a mapping nor a list of mappings, so it is no SLO spec",
                        ),
                    ));
                    continue;
                }
            };
            for obj in objs {
                read_object(&obj, &mut defs, &mut problems, &mut os);
            }
        }
    }
    let (d, p) = os.finish();
    defs.extend(d);
    problems.extend(p);
    (defs, problems)
}

fn read_object(
    obj: &Obj<'_>,
    defs: &mut Vec<SloDef>,
    problems: &mut Vec<SloProblem>,
    os: &mut openslo::Reader,
) {
    let api = obj.value.get("apiVersion");
    let api_str = api.and_then(Value::as_str);
    if obj.value.get("version").is_some() && api.is_none() {
        let (d, p) = sloth::read_v1(obj);
        defs.extend(d);
        problems.extend(p);
        return;
    }
    match api_str {
        Some(a) if a.starts_with("sloth.slok.dev/") => {
            let (d, p) = sloth::read_crd(obj, a);
            defs.extend(d);
            problems.extend(p);
        }
        Some(a) if a.starts_with("openslo") => os.add(obj, a),
        _ => {
            let pos = obj.pos(obj.start(), "apiVersion", None);
            let found = match (api, api_str) {
                (None, _) => "it has neither `version` nor `apiVersion`".to_string(),
                (Some(_), Some(a)) => format!("apiVersion {:?} is not one of them", a),
                (Some(_), None) => "its apiVersion is not a string".to_string(),
            };
            problems.push(file_problem(
                obj.source,
                obj.msg(
                    pos,
                    &format!(
                        "not an SLO spec sitrep reads (Sloth `version: \"prometheus/v1\"`, Sloth `apiVersion: sloth.slok.dev/v1`, OpenSLO `apiVersion: openslo/v1` or `openslo/v1alpha`): {found}"
                    ),
                ),
            ));
        }
    }
}

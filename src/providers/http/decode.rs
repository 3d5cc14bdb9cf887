//! Error-body excerpts and JSON decoding with typed errors.

use super::Failure;
use crate::providers::{ErrorKind, ProviderError};
use crate::text::SafeText;
use serde::Deserialize;

/// Longest error-body excerpt kept in an error, in characters.
pub const EXCERPT_CAP: usize = 200;

/// A short, sanitized excerpt of an error body: the vendor message when the
/// body is one of the known JSON error shapes, else the start of the text.
/// Any credential value is scrubbed.
pub fn error_excerpt(body: &[u8], secrets: &[&str]) -> String {
    let head = &body[..body.len().min(64 * 1024)];
    let text = match serde_json::from_slice::<serde_json::Value>(head) {
        Ok(v) => json_message(&v).unwrap_or_else(|| v.to_string()),
        Err(_) => String::from_utf8_lossy(head)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
    };
    let text = crate::secrets::redact(&text, secrets);
    let safe = SafeText::line(&text);
    let s = safe.as_str();
    match s.char_indices().nth(EXCERPT_CAP) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

fn json_message(v: &serde_json::Value) -> Option<String> {
    use serde_json::Value as V;
    let join = |a: &Vec<V>| {
        a.iter()
            .map(|x| match x {
                V::String(s) => s.clone(),
                other => json_message(other).unwrap_or_else(|| other.to_string()),
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    match v {
        V::String(s) => Some(s.clone()),
        V::Array(a) => Some(join(a)),
        V::Object(o) => {
            // A top-level `message` is the vendor's own sentence (GitHub,
            // LaunchDarkly, Opsgenie): it wins over a nested `error`.
            let top_message = matches!(o.get("message"), Some(V::String(_)));
            if let Some(e) = o.get("error").filter(|_| !top_message) {
                // PagerDuty {"error":{"message","code","errors"}}
                if let Some(eo) = e.as_object() {
                    let mut parts = Vec::new();
                    if let Some(m) = eo.get("message").and_then(|m| m.as_str()) {
                        parts.push(m.to_string());
                    }
                    if let Some(V::Array(a)) = eo.get("errors")
                        && !a.is_empty()
                    {
                        parts.push(join(a));
                    }
                    if let Some(c) = eo.get("code").and_then(|c| c.as_i64()) {
                        parts.push(format!("code {c}"));
                    }
                    if !parts.is_empty() {
                        return Some(parts.join(": "));
                    }
                }
                return json_message(e);
            }
            for k in ["message", "detail", "errorMessage", "error_description"] {
                if let Some(m) = o.get(k) {
                    let mut s = json_message(m)?;
                    match o.get("errors") {
                        Some(V::Object(errs)) if !errs.is_empty() => {
                            s.push_str(&format!(" {}", V::Object(errs.clone())));
                        }
                        // GitHub: {"message": "Validation Failed", "errors":
                        // [{"resource", "field", "code"} | {"message"} | "text"]}.
                        Some(V::Array(a)) => {
                            let parts: Vec<String> =
                                a.iter().map(item_text).filter(|p| !p.is_empty()).collect();
                            if !parts.is_empty() {
                                s.push_str(&format!(" ({})", parts.join("; ")));
                            }
                        }
                        _ => {}
                    }
                    return Some(s);
                }
            }
            if let Some(V::Array(a)) = o.get("errors") {
                return Some(join(a));
            }
            None
        }
        other => Some(other.to_string()),
    }
}

/// One entry of an `errors` list beside a `message`: a string, an object's
/// `message`, or its `resource field code` (GitHub validation errors).
fn item_text(v: &serde_json::Value) -> String {
    use serde_json::Value as V;
    match v {
        V::String(s) => s.clone(),
        V::Object(o) => o
            .get("message")
            .and_then(|m| m.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| {
                ["resource", "field", "code"]
                    .iter()
                    .filter_map(|k| o.get(*k).and_then(|v| v.as_str()))
                    .collect::<Vec<_>>()
                    .join(" ")
            }),
        other => other.to_string(),
    }
}

/// Decode a JSON body into `T`: invalid or cut-off JSON is `Malformed`,
/// valid JSON of the wrong shape is `Shape`.
pub fn decode_json<'a, T: Deserialize<'a>>(
    provider: &str,
    what: &str,
    body: &'a [u8],
) -> Result<T, ProviderError> {
    decode_attempt(provider, what, body).map_err(|f| f.err)
}

/// [`decode_json`] as the outcome of one read attempt: JSON that ends
/// early (`truncated JSON`) may be retried, as a body cut off in transit
/// is; invalid JSON and the wrong shape are not.
pub fn decode_attempt<'a, T: Deserialize<'a>>(
    provider: &str,
    what: &str,
    body: &'a [u8],
) -> Result<T, Failure> {
    serde_json::from_slice::<T>(body).map_err(|e| {
        use serde_json::error::Category;
        let (kind, cause) = match e.classify() {
            Category::Eof => (ErrorKind::Malformed, "truncated JSON"),
            Category::Syntax | Category::Io => (ErrorKind::Malformed, "invalid JSON"),
            Category::Data => (ErrorKind::Shape, "wrong shape"),
        };
        let retryable = e.classify() == Category::Eof;
        // serde's message may quote a (long, hostile) value: keep it short.
        let msg = e.to_string();
        let msg = match msg.char_indices().nth(EXCERPT_CAP) {
            Some((i, _)) => format!("{}…", &msg[..i]),
            None => msg,
        };
        Failure {
            err: ProviderError::new(provider, kind, format!("{what}: {cause}: {msg}")),
            retryable,
            wait: None,
            not_sent: false,
        }
    })
}

/// A JSON value kept only if it is a string; anything else is skipped while
/// decoding (never built into a `serde_json::Value` tree, which costs many
/// times its text). For vendor fields documented as strings that a hostile
/// or odd server may fill with anything (e.g. Vercel deployment `meta`).
///
/// A visitor on purpose, not `#[serde(untagged)] enum { S(String),
/// Other(IgnoredAny) }`: serde decodes an untagged enum by first buffering
/// the whole value into its private `Content` tree, the very cost this
/// type avoids (tests/chaos.rs `a_large_valid_answer_decodes_in_bounded_memory`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StrOrSkip(pub Option<String>);

impl<'de> serde::Deserialize<'de> for StrOrSkip {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Option<String>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Some(v.to_string()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Some(v))
            }
            fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut s: A,
            ) -> Result<Self::Value, A::Error> {
                while s.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(None)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Self::Value, A::Error> {
                while m
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(None)
            }
        }
        d.deserialize_any(V).map(StrOrSkip)
    }
}

/// The first error of several decode attempts, or `Ok` when all decoded
/// (the providers' `decode_wire`, used by the fuzz targets and proptests).
pub fn first_error(
    results: impl IntoIterator<Item = Result<(), ProviderError>>,
) -> Result<(), ProviderError> {
    results.into_iter().find(Result::is_err).unwrap_or(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_validation_errors_are_named() {
        let b = br#"{"message":"Validation Failed","errors":[{"resource":"Deployment","field":"ref","code":"invalid"},{"message":"bad"},"x"]}"#;
        assert_eq!(
            error_excerpt(b, &[]),
            "Validation Failed (Deployment ref invalid; bad; x)"
        );
    }
}

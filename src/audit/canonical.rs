//! Canonical serialization: compact JSON, object keys sorted by code point,
//! no floats, and the chain hash over it.
//!
//! Why the project keeps its own instead of `serde_json::to_vec`: today
//! serde_json's `Map` is a `BTreeMap`, so `to_vec` on a `Value` happens to
//! be sorted and compact, and its string escaping is what ours is (a
//! property test checks that byte for byte). But that ordering is a cargo
//! feature away from changing: if any crate in the dependency graph turns
//! on serde_json's `preserve_order` (feature unification makes it global),
//! `Map` becomes insertion-ordered and every new hash would silently stop
//! matching the independent verifiers. Writing the form by hand pins it to
//! SPEC §6 whatever features are unified. It also allows
//! [`canonical_top`], which records the byte range of the top-level
//! `"hash"` member while serializing, so the verifier hashes the line with
//! that range cut out instead of serializing the record a second time.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// A float was found where SPEC §6 forbids one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FloatFound;

/// Serialize `v` compactly with keys sorted (by code point, which is the
/// UTF-8 byte order). Refuses floats.
pub fn canonical_into(v: &Value, out: &mut Vec<u8>) -> Result<(), FloatFound> {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            if let Some(i) = n.as_u64() {
                out.extend_from_slice(i.to_string().as_bytes());
            } else if let Some(i) = n.as_i64() {
                out.extend_from_slice(i.to_string().as_bytes());
            } else {
                return Err(FloatFound);
            }
        }
        Value::String(s) => write_str(s, out),
        Value::Array(a) => {
            out.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical_into(x, out)?;
            }
            out.push(b']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_unstable();
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(k, out);
                out.push(b':');
                if let Some(x) = m.get(k.as_str()) {
                    canonical_into(x, out)?;
                }
            }
            out.push(b'}');
        }
    }
    Ok(())
}

/// A JSON string: `"` `\` and C0 controls escaped (`\b \t \n \f \r`, else
/// `\u00xx` lowercase), everything else (DEL, non-ASCII) as UTF-8. This is
/// what serde_json and Python's `json.dumps(ensure_ascii=False)` both emit.
fn write_str(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if esc.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 0xf) as usize]);
        } else {
            out.extend_from_slice(esc);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Canonical bytes of a value (floats refused).
pub fn canonical(v: &Value) -> Result<Vec<u8>, FloatFound> {
    let mut out = Vec::with_capacity(256);
    canonical_into(v, &mut out)?;
    Ok(out)
}

/// Byte ranges of the `hash` and `sig` members of a canonical record, each
/// with one adjacent comma, so that cutting a range out leaves the
/// canonical form of the object without that member.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Members {
    pub(super) hash: Option<(usize, usize)>,
    pub(super) sig: Option<(usize, usize)>,
}

/// Canonical bytes of a top-level object, returning where its `hash` and
/// `sig` members are.
pub(super) fn canonical_top(v: &Value, out: &mut Vec<u8>) -> Result<Members, FloatFound> {
    let Value::Object(m) = v else {
        canonical_into(v, out)?;
        return Ok(Members::default());
    };
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort_unstable();
    let n = keys.len();
    let mut found = Members::default();
    out.push(b'{');
    for (i, k) in keys.into_iter().enumerate() {
        let start = out.len();
        if i > 0 {
            out.push(b',');
        }
        write_str(k, out);
        out.push(b':');
        if let Some(x) = m.get(k.as_str()) {
            canonical_into(x, out)?;
        }
        let range = if i == 0 && n > 1 {
            // First member: take the comma that follows instead.
            (start, out.len() + 1)
        } else {
            (start, out.len())
        };
        match k.as_str() {
            "hash" => found.hash = Some(range),
            "sig" => found.sig = Some(range),
            _ => {}
        }
    }
    out.push(b'}');
    Ok(found)
}

/// `hash` of a record whose canonical form without `hash` is `body`.
pub fn chain_hash(prev: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(b"\n");
    h.update(body);
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_sorts_and_refuses_floats() {
        let v = serde_json::json!({"b": 1, "a": [true, null, "x\"\\\n\u{1}\u{7f}é"], "c": {"z": -2, "y": {}}});
        assert_eq!(
            String::from_utf8(canonical(&v).unwrap()).unwrap(),
            "{\"a\":[true,null,\"x\\\"\\\\\\n\\u0001\u{7f}é\"],\"b\":1,\"c\":{\"y\":{},\"z\":-2}}"
        );
        assert_eq!(canonical(&serde_json::json!({"x": 1.5})), Err(FloatFound));
        // serde_json agrees on strings.
        let s = "a\u{0}\u{8}\u{c}\u{1f}\t\r\n\"\\/\u{2028}é";
        let mut ours = Vec::new();
        write_str(s, &mut ours);
        assert_eq!(ours, serde_json::to_vec(s).unwrap());
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;
        use serde_json::Value;

        fn json_value() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(Value::from),
                any::<u64>().prop_map(Value::from),
                any::<String>().prop_map(Value::String),
            ];
            leaf.prop_recursive(3, 24, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                    prop::collection::btree_map(any::<String>(), inner, 0..4)
                        .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(128))]

            /// Our string escaping is serde_json's, byte for byte.
            #[test]
            fn strings_match_serde_json(s in any::<String>()) {
                let mut ours = Vec::new();
                write_str(&s, &mut ours);
                prop_assert_eq!(ours, serde_json::to_vec(&s).unwrap());
            }

            /// Canonical output parses back to the same value and is a
            /// fixed point (canonical(parse(canonical(v))) == canonical(v)).
            #[test]
            fn canonical_round_trips(v in json_value()) {
                let c = canonical(&v).unwrap();
                let back: Value = serde_json::from_slice(&c).unwrap();
                prop_assert_eq!(&back, &v);
                prop_assert_eq!(canonical(&back).unwrap(), c);
            }
        }
    }
}

//! `Link` headers and URL path segments.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// The `rel="next"` URL of a `Link` header, unless it says `results="false"`
/// (Sentry's way of saying there is no next page).
pub fn link_next(header: &str) -> Option<String> {
    link_rel(header, "next")
}

/// The URL of relation `rel` (`next`, `last`, ...) in a `Link` header; a
/// link marked `results="false"` (Sentry's end of the list) is none.
pub fn link_rel(header: &str, rel: &str) -> Option<String> {
    let mut rest = header;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let end = after.find('>')?;
        let url = &after[..end];
        let params_all = &after[end + 1..];
        let params = match params_all.find('<') {
            Some(n) => &params_all[..n],
            None => params_all,
        };
        let mut is_rel = false;
        let mut results_false = false;
        for p in params.split(';') {
            let Some((k, v)) = p.split_once('=') else {
                continue;
            };
            let k = k.trim().trim_start_matches(',').trim().to_ascii_lowercase();
            let v = v.trim().trim_end_matches(',').trim().trim_matches('"');
            if k == "rel" && v.split_whitespace().any(|r| r.eq_ignore_ascii_case(rel)) {
                is_rel = true;
            }
            if k == "results" && v.eq_ignore_ascii_case("false") {
                results_false = true;
            }
        }
        if is_rel {
            return (!results_false && !url.is_empty()).then(|| url.to_string());
        }
        rest = &params_all[params.len()..];
    }
    None
}

/// Everything but the unreserved characters of RFC 3986 (`A-Z a-z 0-9 - . _ ~`).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encode one path segment (ids from outside go into URLs).
pub fn seg(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

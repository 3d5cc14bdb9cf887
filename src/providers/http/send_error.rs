//! How a failed send is told: the kind, the cause in words a responder
//! acts on (the host that does not resolve, the address that refused),
//! never the request or its headers.

use crate::providers::ErrorKind;

/// How a reqwest error from sending a request is reported: its kind, the
/// detail (the innermost cause, never the request or its headers), and
/// whether the request certainly never left (a connect failure). An answer
/// cut off mid-body is `Malformed`.
pub(crate) fn send_error(e: &reqwest::Error, what: &str) -> (ErrorKind, String, bool) {
    let cause = || short_cause(e);
    if e.is_connect() {
        if e.is_timeout() {
            (
                ErrorKind::Timeout,
                format!("{what}: connect timed out"),
                true,
            )
        } else {
            (ErrorKind::Connect, connect_detail(e, what, &cause()), true)
        }
    } else if e.is_timeout() {
        (
            ErrorKind::Timeout,
            format!("{what}: no answer in time"),
            false,
        )
    } else if e.is_builder() {
        (ErrorKind::Config, format!("{what}: {}", cause()), true)
    } else if e.is_body() || e.is_decode() {
        (
            ErrorKind::Malformed,
            format!("{what}: body cut off: {}", cause()),
            false,
        )
    } else {
        (ErrorKind::Connect, format!("{what}: {}", cause()), false)
    }
}

/// A connect failure in words a responder acts on: the host that does not
/// resolve, or the address that refused, before the request it was for.
fn connect_detail(e: &reqwest::Error, what: &str, cause: &str) -> String {
    let url = e.url();
    let host = url.and_then(|u| u.host_str()).unwrap_or("?");
    let lower = cause.to_ascii_lowercase();
    let dns = [
        "lookup address",
        "not known",
        "name resolution",
        "dns error",
        "no address",
    ];
    if dns.iter().any(|d| lower.contains(d)) {
        format!("cannot resolve host {host} ({what})")
    } else if lower.contains("refused") {
        let port = url.and_then(|u| u.port_or_known_default()).unwrap_or(0);
        format!("connection refused by {host}:{port} ({what})")
    } else {
        format!("{what}: {cause}")
    }
}

pub(crate) fn short_cause(e: &reqwest::Error) -> String {
    // The innermost cause ("Connection refused (os error 111)"); never the
    // request itself, never headers.
    let mut src: &dyn std::error::Error = e;
    while let Some(s) = src.source() {
        src = s;
    }
    let s = src.to_string();
    if s.is_empty() { e.to_string() } else { s }
}

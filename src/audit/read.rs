//! Reading records back, and finding actions whose outcome is unknown.

use super::io_err;
use super::record::{Phase, Record};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

/// Read every whole record (oldest first). Lines that do not parse are
/// skipped and counted; use [`verify`](fn@super::verify) to check integrity.
pub fn read(path: &Path) -> Result<(Vec<Record>, usize), String> {
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((vec![], 0)),
        Err(e) => return Err(io_err("cannot open", path, &e)),
    };
    let mut r = BufReader::new(f);
    let mut out = Vec::new();
    let mut bad = 0;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = r
            .read_until(b'\n', &mut buf)
            .map_err(|e| io_err("cannot read", path, &e))?;
        if n == 0 {
            break;
        }
        if buf.last() != Some(&b'\n') {
            bad += 1;
            break;
        }
        match serde_json::from_slice::<Record>(&buf[..buf.len() - 1]) {
            Ok(rec) => out.push(rec),
            Err(_) => bad += 1,
        }
    }
    Ok((out, bad))
}

/// Intents with no result record for the same idempotency key: actions cut
/// off midway (crash, kill -9, power loss). Their outcome is unknown: read
/// the provider's state back before doing anything again.
pub fn unresolved(records: &[Record]) -> Vec<&Record> {
    let done: std::collections::HashSet<&str> = records
        .iter()
        .filter(|r| r.phase == Phase::Result)
        .filter_map(|r| r.idempotency_key.as_deref())
        .collect();
    records
        .iter()
        .filter(|r| r.phase == Phase::Intent)
        .filter(|r| {
            r.idempotency_key
                .as_deref()
                .is_none_or(|k| !done.contains(k))
        })
        .collect()
}

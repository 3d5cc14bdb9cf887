//! Reading records back, and finding actions whose outcome is unknown.

use super::io_err;
use super::record::{Phase, Record};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

/// How much [`tail`] reads at a time, from the end backwards.
const TAIL_CHUNK: usize = 64 * 1024;
/// Lines longer than this are counted as unreadable by [`tail`] without
/// being kept in memory (records are a few hundred bytes).
const TAIL_MAX_LINE: usize = 16 * 1024 * 1024;

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

/// The newest `n` whole records (oldest first, as [`read`] returns them),
/// read backwards from the end of the file in bounded chunks: the work and
/// the memory are those of the records returned (plus one chunk), not of
/// the log. `tail(p, n).0` equals the last `n` records of `read(p).0`.
///
/// The count is of unreadable lines among those scanned: lines that do not
/// parse between the end and the oldest record returned, and a torn last
/// line. It equals [`read`]'s count when the whole file was scanned (fewer
/// than `n` records). A line longer than 16 MiB is counted as unreadable
/// without being kept. A missing file is an empty log.
pub fn tail(path: &Path, n: usize) -> Result<(Vec<Record>, usize), String> {
    tail_with(path, n, TAIL_CHUNK, TAIL_MAX_LINE)
}

/// The line being put together, back to front, across chunks.
#[derive(Default)]
struct Partial {
    /// Pieces in the order they were read (the newest bytes first).
    pieces: Vec<Vec<u8>>,
    len: usize,
    /// Longer than the limit: its bytes are dropped.
    overlong: bool,
}

/// What [`tail`] has found so far.
struct Found<'a> {
    out: Vec<Record>,
    bad: usize,
    n: usize,
    max_line: usize,
    /// The segment being finished is the one after the last newline: a
    /// torn line if it is not empty.
    at_end: bool,
    partial: &'a mut Partial,
}

impl Found<'_> {
    fn full(&self) -> bool {
        self.out.len() >= self.n
    }

    /// A whole line: `head` followed by what was kept of the partial line.
    fn line(&mut self, head: &[u8]) {
        let p = std::mem::take(self.partial);
        let at_end = std::mem::replace(&mut self.at_end, false);
        if at_end {
            if !head.is_empty() || p.len > 0 || p.overlong {
                self.bad += 1;
            }
            return;
        }
        if p.overlong || head.len() + p.len > self.max_line {
            self.bad += 1;
            return;
        }
        let parsed = if p.pieces.is_empty() {
            serde_json::from_slice::<Record>(head)
        } else {
            let mut whole = Vec::with_capacity(head.len() + p.len);
            whole.extend_from_slice(head);
            for piece in p.pieces.iter().rev() {
                whole.extend_from_slice(piece);
            }
            serde_json::from_slice::<Record>(&whole)
        };
        match parsed {
            Ok(r) => self.out.push(r),
            Err(_) => self.bad += 1,
        }
    }

    /// Bytes at the start of a chunk whose line began in an earlier chunk.
    fn carry(&mut self, bytes: &[u8]) {
        let p = &mut *self.partial;
        if p.overlong || p.len + bytes.len() > self.max_line {
            *p = Partial {
                overlong: true,
                ..Partial::default()
            };
            return;
        }
        if !bytes.is_empty() {
            p.pieces.push(bytes.to_vec());
            p.len += bytes.len();
        }
    }
}

fn tail_with(
    path: &Path,
    n: usize,
    chunk: usize,
    max_line: usize,
) -> Result<(Vec<Record>, usize), String> {
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((vec![], 0)),
        Err(e) => return Err(io_err("cannot open", path, &e)),
    };
    let len = f
        .metadata()
        .map_err(|e| io_err("cannot stat", path, &e))?
        .len();
    let mut partial = Partial::default();
    let mut found = Found {
        out: Vec::new(),
        bad: 0,
        n,
        max_line,
        at_end: true,
        partial: &mut partial,
    };
    let mut buf = vec![0u8; chunk.max(1)];
    let mut pos = len;
    while pos > 0 && !found.full() {
        let take = (buf.len() as u64).min(pos) as usize;
        let start = pos - take as u64;
        let piece = &mut buf[..take];
        f.seek(SeekFrom::Start(start))
            .and_then(|_| f.read_exact(piece))
            .map_err(|e| io_err("cannot read", path, &e))?;
        let mut end = take;
        while let Some(i) = piece[..end].iter().rposition(|&b| b == b'\n') {
            found.line(&piece[i + 1..end]);
            end = i;
            if found.full() {
                break;
            }
        }
        if !found.full() {
            found.carry(&piece[..end]);
        }
        pos = start;
    }
    // The first line of the file has no newline before it.
    if pos == 0 && len > 0 && !found.full() {
        found.line(&[]);
    }
    let (mut out, bad) = (found.out, found.bad);
    out.reverse();
    Ok((out, bad))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `tail_with` with tiny chunks and line limits, against `read`.
    #[test]
    fn chunk_boundaries_and_long_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("audit.jsonl");
        let rec = |seq: u64, pad: usize| {
            let r = Record {
                action: "flag.off".into(),
                actor: "a".into(),
                demo: false,
                detail: serde_json::json!({ "pad": "x".repeat(pad) }),
                hash: "h".into(),
                host: "h".into(),
                idempotency_key: None,
                incident: None,
                key_id: None,
                outcome: super::super::record::Outcome::Ok,
                phase: Phase::Result,
                prev: "p".into(),
                provider: None,
                reason: "r".into(),
                runbook: None,
                seq,
                sig: None,
                target: "t".into(),
                ts: "2026-01-01T00:00:00.000Z".into(),
            };
            serde_json::to_string(&r).unwrap()
        };
        let cases: Vec<String> = vec![
            // Plain.
            format!("{}\n{}\n{}\n", rec(1, 0), rec(2, 50), rec(3, 3)),
            // Garbage, an empty line, and a torn tail.
            format!("{}\nnot json\n\n{}\n{{\"half", rec(1, 10), rec(2, 0)),
            // An empty first line, no trailing newline at all.
            format!("\n{}\n{}", rec(1, 0), rec(2, 0)),
            // Only a torn line; only newlines.
            "{\"acti".to_string(),
            "\n\n".to_string(),
            String::new(),
        ];
        for (k, text) in cases.iter().enumerate() {
            std::fs::write(&p, text).unwrap();
            let (all, all_bad) = read(&p).unwrap();
            for chunk in [1, 2, 7, 64, 1 << 16] {
                for n in 0..all.len() + 2 {
                    let (got, bad) = tail_with(&p, n, chunk, 1 << 20).unwrap();
                    let want = &all[all.len().saturating_sub(n)..];
                    assert_eq!(got, want, "case {k} chunk {chunk} n {n}");
                    if n > all.len() {
                        assert_eq!(bad, all_bad, "case {k} chunk {chunk} n {n}");
                    }
                }
            }
        }
        // A line over the limit is counted, not kept; its neighbours are read.
        let text = format!("{}\n{}\n{}\n", rec(1, 0), rec(2, 400), rec(3, 0));
        std::fs::write(&p, &text).unwrap();
        for chunk in [3, 64, 4096] {
            let (got, bad) = tail_with(&p, 10, chunk, 300).unwrap();
            let seqs: Vec<u64> = got.iter().map(|r| r.seq).collect();
            assert_eq!((seqs, bad), (vec![1, 3], 1), "chunk {chunk}");
        }
        // A missing file is an empty log.
        assert_eq!(tail(&dir.path().join("nope"), 5).unwrap(), (vec![], 0));
    }
}

//! The team's shared audit log: every console's records, as its local log
//! wrote them (SPEC §6, signed), appended in one order for the whole team
//! and chained again there:
//!
//! `hash = hex(sha256(prev + "\n" + line))`, `prev` the previous shared
//! row's `hash` (64 zeros for the team's first).
//!
//! The local log stays the first, durable copy (the intent is fsynced
//! there before any request). What it holds beyond this console's sync
//! cursor is "unsynced"; [`push`] appends it in local order. Each row is
//! unique by the record's own hash (and by idempotency key and phase), so
//! a retried push, or one cut off by a kill between the commit and the
//! cursor write, never duplicates.

use crate::audit::{self, Record, ZERO_HASH};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, HashSet};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use tokio_postgres::Client;

/// Lines pushed in one transaction at most.
const BATCH: usize = 500;

/// How far the local log is in the shared one.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    /// Bytes of the local log already in the shared log.
    pub offset: u64,
    /// `hash` of the last local record pushed (64 zeros: none).
    pub hash: String,
}

/// The cursor file beside the local log, one per team.
pub fn cursor_path(audit: &Path, team: &str) -> PathBuf {
    let name = audit
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "audit.jsonl".into());
    audit.with_file_name(format!("{name}.team-{team}.sync"))
}

pub fn load_cursor(path: &Path) -> Cursor {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice::<Cursor>(&b).ok())
        .unwrap_or_else(|| Cursor {
            offset: 0,
            hash: ZERO_HASH.into(),
        })
}

fn save_cursor(path: &Path, c: &Cursor) -> Result<(), String> {
    let bytes = serde_json::to_vec(c).map_err(|e| format!("sync cursor: {e}"))?;
    crate::fsutil::write_atomic(path, &bytes, 0o600)
        .map_err(|e| format!("cannot write the sync cursor {}: {e}", path.display()))
}

/// One local record waiting for the shared log.
#[derive(Clone, Debug)]
pub struct Pending {
    pub line: String,
    pub record: Record,
    /// Local log offset just after this line.
    pub end: u64,
}

/// The whole local records after the cursor (at most `max`). A cursor
/// that no longer fits the file (the log replaced) starts again from the
/// beginning: what is already shared is skipped by hash.
pub fn unsynced(audit: &Path, cursor: &Cursor, max: usize) -> Result<(Vec<Pending>, u64), String> {
    let mut f = match std::fs::File::open(audit) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(format!("cannot read {}: {e}", audit.display())),
    };
    let len = f
        .metadata()
        .map_err(|e| format!("cannot read {}: {e}", audit.display()))?
        .len();
    let mut start = if cursor.offset <= len {
        cursor.offset
    } else {
        0
    };
    loop {
        f.seek(SeekFrom::Start(start))
            .map_err(|e| format!("cannot read {}: {e}", audit.display()))?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)
            .map_err(|e| format!("cannot read {}: {e}", audit.display()))?;
        let mut out = Vec::new();
        let mut total = 0u64;
        let mut at = start;
        let mut first = true;
        let mut restart = false;
        for raw in buf.split_inclusive(|b| *b == b'\n') {
            if !raw.ends_with(b"\n") {
                break; // a torn tail: the writer repairs it
            }
            at += raw.len() as u64;
            let text = String::from_utf8_lossy(&raw[..raw.len() - 1]).into_owned();
            let Ok(rec) = serde_json::from_str::<Record>(&text) else {
                continue; // unreadable: `audit verify` names it
            };
            if first && start > 0 && rec.prev != cursor.hash {
                restart = true;
                break;
            }
            first = false;
            total += 1;
            if out.len() < max {
                out.push(Pending {
                    line: text,
                    record: rec,
                    end: at,
                });
            }
        }
        if restart {
            start = 0;
            continue;
        }
        return Ok((out, total));
    }
}

fn shared_hash(prev: &str, line: &str) -> String {
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(b"\n");
    h.update(line.as_bytes());
    hex::encode(h.finalize())
}

/// Append `batch` in order, skipping what is already there; registers
/// the signing keys the records name. Returns the rows appended.
async fn append(client: &mut Client, team: &str, batch: &[Pending]) -> Result<u64, String> {
    let db = |e: tokio_postgres::Error| format!("team audit log: {}", db_text(&e));
    let tx = client.transaction().await.map_err(db)?;
    tx.execute(
        "INSERT INTO sitrep_audit_head (team, seq, hash) VALUES ($1, 0, $2) ON CONFLICT DO NOTHING",
        &[&team, &ZERO_HASH],
    )
    .await
    .map_err(db)?;
    // One writer at a time per team: the head row is the lock.
    let head = tx
        .query_one(
            "SELECT seq, hash FROM sitrep_audit_head WHERE team = $1 FOR UPDATE",
            &[&team],
        )
        .await
        .map_err(db)?;
    let mut seq: i64 = head.try_get(0).map_err(db)?;
    let mut prev: String = head.try_get(1).map_err(db)?;
    let mut keys = BTreeSet::new();
    let mut appended = 0;
    for p in batch {
        let r = &p.record;
        let hash = shared_hash(&prev, &p.line);
        let n = tx
            .execute(
                "INSERT INTO sitrep_audit
                    (team, seq, prev, hash, record_hash, idempotency_key, phase, key_id, line)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT DO NOTHING",
                &[
                    &team,
                    &(seq + 1),
                    &prev,
                    &hash,
                    &r.hash,
                    &r.idempotency_key,
                    &r.phase.as_str(),
                    &r.key_id,
                    &p.line,
                ],
            )
            .await
            .map_err(db)?;
        if n == 1 {
            seq += 1;
            prev = hash;
            appended += 1;
        }
        if let Some(k) = &r.key_id {
            keys.insert((k.clone(), r.actor.clone(), r.host.clone()));
        }
    }
    for (k, actor, host) in &keys {
        tx.execute(
            "INSERT INTO sitrep_keys (team, key_id, actor, host) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING",
            &[&team, k, actor, host],
        )
        .await
        .map_err(db)?;
    }
    tx.execute(
        "UPDATE sitrep_audit_head SET seq = $2, hash = $3 WHERE team = $1",
        &[&team, &seq, &prev],
    )
    .await
    .map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok(appended)
}

/// What a push did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pushed {
    /// Rows added to the shared log.
    pub appended: u64,
    /// Local records still not in the shared log.
    pub unsynced: u64,
}

/// Push every unsynced local record, in order, batch by batch; the
/// cursor moves after each committed batch.
pub async fn push(client: &mut Client, team: &str, audit: &Path) -> Result<Pushed, String> {
    let cpath = cursor_path(audit, team);
    let mut cursor = load_cursor(&cpath);
    let mut appended = 0;
    loop {
        let (batch, total) = unsynced(audit, &cursor, BATCH)?;
        if batch.is_empty() {
            return Ok(Pushed {
                appended,
                unsynced: 0,
            });
        }
        appended += append(client, team, &batch).await?;
        if let Some(last) = batch.last() {
            cursor = Cursor {
                offset: last.end,
                hash: last.record.hash.clone(),
            };
            save_cursor(&cpath, &cursor)?;
        }
        if total <= batch.len() as u64 {
            return Ok(Pushed {
                appended,
                unsynced: 0,
            });
        }
    }
}

/// Local records not yet in the shared log (no database needed).
pub fn count_unsynced(audit: &Path, team: &str) -> u64 {
    let cursor = load_cursor(&cursor_path(audit, team));
    unsynced(audit, &cursor, 0).map(|(_, n)| n).unwrap_or(0)
}

/// One row of the shared log.
#[derive(Clone, Debug)]
pub struct Row {
    pub seq: i64,
    pub prev: String,
    pub hash: String,
    pub line: String,
}

/// The newest `limit` rows (all with `None`), oldest first.
pub async fn rows(client: &Client, team: &str, limit: Option<i64>) -> Result<Vec<Row>, String> {
    let db = |e: tokio_postgres::Error| format!("team audit log: {}", db_text(&e));
    let q = match limit {
        Some(n) => {
            client
                .query(
                    "SELECT seq, prev, hash, line FROM sitrep_audit WHERE team = $1
                     ORDER BY seq DESC LIMIT $2",
                    &[&team, &n],
                )
                .await
        }
        None => {
            client
                .query(
                    "SELECT seq, prev, hash, line FROM sitrep_audit WHERE team = $1
                     ORDER BY seq DESC",
                    &[&team],
                )
                .await
        }
    }
    .map_err(db)?;
    let mut out = Vec::with_capacity(q.len());
    for r in q.iter().rev() {
        out.push(Row {
            seq: r.try_get(0).map_err(db)?,
            prev: r.try_get(1).map_err(db)?,
            hash: r.try_get(2).map_err(db)?,
            line: r.try_get(3).map_err(db)?,
        });
    }
    Ok(out)
}

/// The records of rows (unreadable ones counted).
pub fn records(rows: &[Row]) -> (Vec<Record>, usize) {
    let mut bad = 0;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        match serde_json::from_str::<Record>(&r.line) {
            Ok(rec) => out.push(rec),
            Err(_) => bad += 1,
        }
    }
    (out, bad)
}

/// A shared log that verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TeamVerified {
    pub records: u64,
    pub head: String,
    pub last_seq: i64,
    pub unsigned: u64,
    /// Registered keys that signed records.
    pub signers: Vec<String>,
}

/// Verify the shared log: the team chain (seq, prev, hash), each record on
/// its own (hash, signature under the key it names), every named key
/// registered for the team, and each console's own chain unbroken (every
/// record's local `prev` is an earlier record of the log).
pub async fn verify(client: &Client, team: &str) -> Result<TeamVerified, String> {
    let db = |e: tokio_postgres::Error| format!("team audit log: {}", db_text(&e));
    let rows = rows(client, team, None).await?;
    let keys: HashSet<String> = client
        .query("SELECT key_id FROM sitrep_keys WHERE team = $1", &[&team])
        .await
        .map_err(db)?
        .iter()
        .filter_map(|r| r.try_get::<_, String>(0).ok())
        .collect();
    let head = client
        .query_opt(
            "SELECT seq, hash FROM sitrep_audit_head WHERE team = $1",
            &[&team],
        )
        .await
        .map_err(db)?;
    verify_rows(&rows, &keys, head.map(|r| (r.get::<_, i64>(0), r.get(1))))
}

/// The checks of [`verify`] on rows already read (pure).
pub fn verify_rows(
    rows: &[Row],
    keys: &HashSet<String>,
    head: Option<(i64, String)>,
) -> Result<TeamVerified, String> {
    let mut prev = ZERO_HASH.to_string();
    let mut seen: HashSet<String> = HashSet::new();
    let mut signers: Vec<String> = Vec::new();
    let mut unsigned = 0;
    // Each row's own checks (its shared hash; its record's hash and
    // signature) need nothing of the rows before it: on every core at
    // once, each core's signatures as one batch. The chain is then
    // followed in order.
    let own = crate::util::par_chunks(rows, 256, |run| {
        let lines: Vec<&[u8]> = run.iter().map(|r| r.line.as_bytes()).collect();
        run.iter()
            .zip(audit::check_records(&lines))
            .map(|(r, record)| (shared_hash(&r.prev, &r.line) == r.hash, record))
            .collect()
    });
    for ((i, r), (hash_ok, record)) in rows.iter().enumerate().zip(own) {
        let at = |why: String| format!("BROKEN at shared seq {}: {why}", r.seq);
        if r.seq != i as i64 + 1 {
            return Err(at(format!(
                "expected seq {} (a row is missing or out of order)",
                i + 1
            )));
        }
        if r.prev != prev {
            return Err(at("prev is not the previous row's hash".into()));
        }
        if !hash_ok {
            return Err(at(
                "hash does not match the row (the row was changed)".into()
            ));
        }
        let (lprev, lhash, key) = record.map_err(at)?;
        if lprev != ZERO_HASH && !seen.contains(&lprev) {
            return Err(at(
                "the console's previous record is not in the shared log".into()
            ));
        }
        match key {
            Some(k) => {
                if !keys.contains(&k) {
                    return Err(at(format!(
                        "signed by key {} that is not registered for the team",
                        audit::keys::short_id(&k)
                    )));
                }
                if !signers.contains(&k) {
                    signers.push(k);
                }
            }
            None => unsigned += 1,
        }
        seen.insert(lhash);
        prev = r.hash.clone();
    }
    let last_seq = rows.last().map(|r| r.seq).unwrap_or(0);
    if let Some((hseq, hhash)) = head
        && (hseq != last_seq || hhash != prev)
    {
        return Err(format!(
            "BROKEN: the head says seq {hseq} but the log ends at seq {last_seq} (rows cut off or rewritten)"
        ));
    }
    Ok(TeamVerified {
        records: rows.len() as u64,
        head: prev,
        last_seq,
        unsigned,
        signers,
    })
}

/// The text of a database error: the server's message when there is one
/// (never the connection parameters), sanitized.
pub fn db_text(e: &tokio_postgres::Error) -> String {
    let t = match e.as_db_error() {
        Some(d) => d.message().to_string(),
        None => e.to_string(),
    };
    crate::text::SafeText::line(&t).into_string()
}

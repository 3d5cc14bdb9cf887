//! The tamper-evident audit log (SPEC §6): JSON Lines, one record a line,
//! keys sorted, compact, no floats, each record chained to the previous one
//! by `prev` and `hash`:
//!
//! `hash = hex(sha256(prev + "\n" + canonical(record without "hash")))`
//!
//! Writer protocol (RELIABILITY §2.4): open read+append (create 0600, fsync
//! the directory on create), take an exclusive `flock` with a bounded wait,
//! read the tail, move a torn last line aside to `audit.jsonl.torn-<time>`,
//! append the whole record with one `write_all`, `fdatasync`, unlock. Any
//! write or sync error poisons the writer: no further record is written and
//! every action is refused (fail closed). See docs/AUDIT.md.
//!
//! The parts, one file each:
//! - `record`: the record as stored ([`Record`]) and as supplied
//!   ([`Entry`]), and sealing an entry into its chained line;
//! - `canonical`: the canonical JSON form and the chain hash;
//! - `faults`: the writer's errors and its failure-injection hook;
//! - [`keys`]: the Ed25519 signing key of an installation, and the keys
//!   `audit verify` trusts;
//! - `writer`: [`AuditLog`], the locking, syncing, self-repairing writer;
//! - [`verify`](mod@verify): the streaming chain verifier, and resumable
//!   verification ([`verify_from`] with a [`VerifyCursor`]);
//! - [`read`](mod@read): reading records back (all of them, or the newest
//!   with [`read::tail`]) and finding unresolved intents.

mod batch;
mod canonical;
mod faults;
pub mod keys;
pub mod read;
mod record;
mod stream;
pub mod verify;
pub mod webhook;
mod writer;

pub use batch::{RecordIds, check_records};
pub use canonical::{FloatFound, canonical, canonical_into, chain_hash};
pub use faults::{AuditError, Faults};
pub use keys::{AuditKey, KeySource, Signer, TrustedKeys};
pub use read::{read, unresolved};
pub use record::{Entry, Outcome, Phase, Record, RunbookRef, ZERO_HASH, now_ts, sanitize_detail};
pub use verify::{
    Anchor, BreakKind, Broken, Verified, Verifier, VerifyCursor, VerifyError, check_anchor,
    check_record, verify, verify_from, verify_reader, verify_stream, verify_trusted,
};
pub use writer::{Appended, AuditLog, LOCK_TIMEOUT, Recovery};

use std::path::Path;

/// `<what> <path>: <error>`, the shape of every I/O error text in this module.
fn io_err(what: &str, path: &Path, e: &std::io::Error) -> String {
    format!("{what} {}: {e}", path.display())
}

#[cfg(test)]
mod tests;

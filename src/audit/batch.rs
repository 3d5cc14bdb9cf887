//! Many lines' own checks at once: everything but the signatures line by
//! line, then the signatures as one batch ([`verify_all`]); only when the
//! batch fails, each alone, so the lines that do not verify are named.
//! Used by `audit verify` (one run per core, `stream.rs`) and by the team's
//! shared log.

use super::keys::verify_all;
use super::verify::{Checked, LineBreak, bad_signature, check_unsigned};

/// One core's run of lines: every check but the signatures line by line,
/// then the signatures as one batch; only when the batch fails, each of
/// them alone, so the lines that do not verify are named.
pub(super) fn check_run<L: AsRef<[u8]>>(
    run: &[L],
    scratch: &mut Vec<u8>,
) -> Vec<Result<Checked, LineBreak>> {
    let mut out = Vec::with_capacity(run.len());
    let mut sigs = Vec::with_capacity(run.len());
    let mut signed_at = Vec::with_capacity(run.len());
    for (i, l) in run.iter().enumerate() {
        out.push(check_unsigned(l.as_ref(), scratch).map(|(c, sig)| {
            if let Some(sig) = sig {
                signed_at.push(i);
                sigs.push(sig);
            }
            c
        }));
    }
    if !verify_all(&sigs) {
        for (i, sig) in signed_at.into_iter().zip(&sigs) {
            if !sig.verify()
                && let Some(Ok(c)) = out.get(i)
            {
                out[i] = Err(bad_signature(c));
            }
        }
    }
    out
}

/// A checked record's `prev`, `hash` and `key_id`.
pub type RecordIds = (String, String, Option<String>);

/// [`check_record`](super::check_record) of every line, the signatures verified as one batch
/// (on the calling thread: split the lines over cores first).
pub fn check_records<L: AsRef<[u8]>>(lines: &[L]) -> Vec<Result<RecordIds, String>> {
    let mut scratch = Vec::new();
    check_run(lines, &mut scratch)
        .into_iter()
        .map(|r| match r {
            Ok(c) => Ok((c.prev, c.hash, c.key_id)),
            Err(b) => Err(b.reason),
        })
        .collect()
}

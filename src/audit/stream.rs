//! Reading a log for [`super::verify`]: lines are read in blocks, each
//! line's own checks (JSON, schema, canonical form, its hash and its
//! Ed25519 signature, which need nothing of the lines before it) run on
//! every core at once, each core's signatures verified as one batch (a
//! batch that fails is checked line by line to name the line), and the chain (seq, prev, signers) is
//! then checked in order by the one [`Verifier`]. The first broken line in
//! file order is the one reported, as when reading line by line; at most
//! one block is read past it. Blocks start small and double, so a break
//! near where reading starts (a resumed verify, a tampered head) is found
//! after a few lines, not after a thousand.

use super::batch::check_run;
use super::verify::{Checked, LineBreak, VerifyError};
use super::writer::MAX_RECORD;
use super::{Verified, Verifier};
use std::io::{BufRead, BufReader, Read};

/// Lines read before their checks run: the first block's, doubled each
/// block up to the last.
const FIRST_BLOCK: usize = 1;
const BLOCK: usize = 1024;
/// Blocks smaller than this are checked on one thread (not worth a spawn).
const MIN_PARALLEL: usize = 64;

/// How a block's reading stopped.
enum Stop {
    Full,
    Eof,
    Torn,
    TooLong,
}

/// Feed every line of `r` to `v`; also returns how many bytes the verified
/// lines took (newlines included).
pub(super) fn stream_counted(
    mut v: Verifier,
    r: impl Read,
) -> Result<(Verified, u64), VerifyError> {
    let mut r = BufReader::with_capacity(256 * 1024, r);
    let mut lines: Vec<Vec<u8>> = Vec::new();
    let mut sizes: Vec<u64> = Vec::with_capacity(BLOCK);
    let mut bytes = 0u64;
    let mut block = FIRST_BLOCK;
    loop {
        sizes.clear();
        let mut stop = Stop::Full;
        while sizes.len() < block {
            let i = sizes.len();
            if lines.len() <= i {
                lines.push(Vec::with_capacity(1024));
            }
            let buf = &mut lines[i];
            buf.clear();
            // Bounded: a line longer than a record can be is not read whole.
            let n = (&mut r)
                .take(MAX_RECORD + 1)
                .read_until(b'\n', buf)
                .map_err(|e| VerifyError::Io(format!("cannot read the audit log: {e}")))?;
            if n == 0 {
                stop = Stop::Eof;
                break;
            }
            if buf.last() != Some(&b'\n') {
                stop = if n as u64 > MAX_RECORD {
                    Stop::TooLong
                } else {
                    Stop::Torn
                };
                break;
            }
            buf.pop();
            sizes.push(n as u64);
        }
        let checked = check_block(&lines[..sizes.len()]);
        for (c, n) in checked.into_iter().zip(&sizes) {
            v.accept(c).map_err(VerifyError::Broken)?;
            bytes += n;
        }
        match stop {
            Stop::Full => block = (block * 2).min(BLOCK),
            Stop::Eof => return Ok((v.finish(), bytes)),
            Stop::Torn => return Err(VerifyError::Broken(v.torn())),
            Stop::TooLong => return Err(VerifyError::Broken(v.too_long())),
        }
    }
}

/// Each line's own checks, in order, split over the machine's cores.
fn check_block(lines: &[Vec<u8>]) -> Vec<Result<Checked, LineBreak>> {
    crate::util::par_chunks(lines, MIN_PARALLEL, |run| {
        SCRATCH.with_borrow_mut(|scratch| check_run(run, scratch))
    })
}

thread_local! {
    /// One reused serialization buffer per checking thread.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(Vec::with_capacity(1024));
}

//! `sitrep audit`: the log as a table or JSON, `verify` (chain,
//! signatures, anchor), `key` and `head`.

use super::actions::{action_config, audit_path, fail};
use super::{AuditCmd, exit, print};
use crate::app::AppContext;
use crate::audit::{self, Record, VerifyError};
use crate::config::Config;
use crate::text::SafeText;
use std::path::{Path, PathBuf};

fn shown(p: &Path) -> String {
    SafeText::line(&p.display().to_string()).into_string()
}

/// The trusted keys: the installation's, and any given with `--key`.
fn trust_for(ctx: &AppContext, keys: &[PathBuf]) -> Result<audit::TrustedKeys, String> {
    let mut t = ctx.trusted_keys()?;
    for k in keys {
        t.add_file(k)?;
    }
    Ok(t)
}

fn audit_verify(
    ctx: &AppContext,
    path: &Path,
    keys: &[PathBuf],
    anchor: Option<&Path>,
    allow_unsigned_prefix: bool,
) -> i32 {
    let trust = match trust_for(ctx, keys) {
        Ok(t) => t,
        Err(e) => return fail(e, exit::USAGE),
    };
    let anchor = match anchor {
        None => None,
        Some(a) => match std::fs::read_to_string(a)
            .map_err(|e| format!("cannot read the anchor {}: {e}", a.display()))
            .and_then(|t| {
                audit::Anchor::parse(&t).map_err(|e| format!("anchor {}: {e}", a.display()))
            }) {
            Ok(x) => Some(x),
            Err(e) => return fail(e, exit::USAGE),
        },
    };
    let v = match audit::verify_trusted(path, &trust, allow_unsigned_prefix) {
        Ok(v) => v,
        Err(VerifyError::Broken(b)) => {
            return fail(
                format!("{}: BROKEN at {b}", shown(path)),
                exit::AUDIT_BROKEN,
            );
        }
        Err(VerifyError::Io(e)) => return fail(e, exit::AUDIT_BROKEN),
    };
    if let Some(a) = &anchor
        && let Err(e) = audit::check_anchor(path, &v, a)
    {
        return fail(format!("{}: BROKEN: {e}", shown(path)), exit::AUDIT_BROKEN);
    }
    if v.records == 0 {
        print(&format!(
            "{}: no records (nothing to verify)\n",
            shown(path)
        ));
        return exit::OK;
    }
    let mut out = format!(
        "{}: ok, {} records, chain intact, head {} (seq {})\n",
        shown(path),
        v.records,
        v.head,
        v.last_seq
    );
    let signers: Vec<&str> = v.signers.iter().map(|k| audit::keys::short_id(k)).collect();
    if !signers.is_empty() {
        out.push_str(&format!(
            "  signatures: {} records signed by {} trusted key(s): {}\n",
            v.records - v.unsigned,
            signers.len(),
            signers.join(", ")
        ));
    }
    if v.unsigned > 0 {
        out.push_str(&format!(
            "  warning: the first {} record(s) are unsigned (written before signing); only the hash chain covers them\n",
            v.unsigned
        ));
    }
    match &anchor {
        Some(a) => out.push_str(&format!(
            "  anchor: seq {} {} is in the log (nothing cut off or rewritten up to it)\n",
            a.seq,
            audit::keys::short_id(&a.hash)
        )),
        None => out.push_str(
            "  note: records cut off the end are only found against a saved head (--anchor; see `sitrep audit head`)\n",
        ),
    }
    print(&out);
    exit::OK
}

fn audit_key(ctx: &AppContext, cfg: &Config) -> i32 {
    let signer = ctx.signer(cfg);
    match signer.key() {
        Ok(k) => {
            for n in &k.notes {
                eprintln!("sitrep: {}", SafeText::line(n));
            }
            eprintln!(
                "sitrep: audit signing key {} ({}); public key in {}",
                audit::keys::short_id(k.key.id()),
                SafeText::line(&k.origin.to_string()),
                shown(&ctx.paths.config_dir.join(audit::keys::PUBLIC_DIR))
            );
            print(&format!("{}\n", k.key.public_line()));
            exit::OK
        }
        Err(e) => fail(e, exit::USAGE),
    }
}

fn audit_head(ctx: &AppContext, path: &Path) -> i32 {
    let trust = match trust_for(ctx, &[]) {
        Ok(t) => t,
        Err(e) => return fail(e, exit::USAGE),
    };
    match audit::verify_trusted(path, &trust, true) {
        Ok(v) if v.records == 0 => fail(
            format!("{}: no records yet, no head to save", shown(path)),
            exit::USAGE,
        ),
        Ok(v) => {
            let doc = serde_json::json!({
                "log": path.display().to_string(),
                "seq": v.last_seq,
                "hash": v.head,
                "records": v.records,
                "at": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            });
            print(&format!("{}\n", audit::sanitize_detail(&doc)));
            exit::OK
        }
        Err(VerifyError::Broken(b)) => fail(
            format!("{}: BROKEN at {b} (no head printed)", shown(path)),
            exit::AUDIT_BROKEN,
        ),
        Err(VerifyError::Io(e)) => fail(e, exit::AUDIT_BROKEN),
    }
}

/// Team mode (`[team]`, not the demo): the handle, this console's local
/// records pushed first (best effort: a failure is said, the shared log is
/// still read if it answers).
pub async fn team_of(ctx: &AppContext, cfg: &Config) -> Option<crate::team::Team> {
    if ctx.opts.demo {
        return None;
    }
    let t = cfg.team.as_ref()?;
    let team = crate::team::Team::from_config(t, &crate::secrets::SystemSecrets);
    if let Err(e) = team.sync(&audit_path(ctx, cfg)).await {
        eprintln!(
            "sitrep: warning: team log not updated: {}; {} local record(s) unsynced",
            SafeText::line(&e),
            team.status().unsynced
        );
    }
    Some(team)
}

/// The records `audit`, `timeline` and `handoff` read: the team's shared
/// log in team mode (falling back to the local log, said, while it is
/// unreachable), else the local log. `limit`: the newest N only.
pub async fn records_for(
    ctx: &AppContext,
    cfg: &Config,
    limit: Option<usize>,
) -> Result<(Vec<Record>, usize), String> {
    if let Some(team) = team_of(ctx, cfg).await {
        match team.records(limit).await {
            Ok(r) => return Ok(r),
            Err(e) => eprintln!(
                "sitrep: warning: team log unreachable ({}); showing this console's local log",
                SafeText::line(&e)
            ),
        }
    }
    audit::read(&audit_path(ctx, cfg))
}

async fn team_verify(ctx: &AppContext, cfg: &Config) -> Option<i32> {
    let team = team_of(ctx, cfg).await?;
    match team.verify().await {
        Ok(v) => {
            let mut out = format!(
                "team log {}: ok, {} records, chain intact, head {} (seq {})\n",
                SafeText::line(team.name()),
                v.records,
                v.head,
                v.last_seq
            );
            if !v.signers.is_empty() {
                let ids: Vec<&str> = v.signers.iter().map(|k| audit::keys::short_id(k)).collect();
                out.push_str(&format!(
                    "  signatures: {} records signed by {} registered key(s): {}\n",
                    v.records - v.unsigned,
                    ids.len(),
                    ids.join(", ")
                ));
            }
            if v.unsigned > 0 {
                out.push_str(&format!(
                    "  warning: {} record(s) are unsigned; only the hash chains cover them\n",
                    v.unsigned
                ));
            }
            print(&out);
            Some(exit::OK)
        }
        Err(e) if e.starts_with("BROKEN") => Some(fail(
            format!("team log {}: {e}", team.name()),
            exit::AUDIT_BROKEN,
        )),
        Err(e) => {
            eprintln!(
                "sitrep: warning: team log unreachable ({}); verifying this console's local log only",
                SafeText::line(&e)
            );
            None
        }
    }
}

fn record_row(r: &Record) -> Vec<String> {
    let s = |x: &str| SafeText::line(x).into_string();
    vec![
        r.seq.to_string(),
        s(&r.ts),
        s(r.phase.as_str()),
        s(r.outcome.as_str()),
        s(&r.action),
        s(&r.target),
        s(r.provider.as_deref().unwrap_or("-")),
        s(&r.actor),
        s(&r.reason),
    ]
}

/// `audit [--json] [--limit N]`, `audit verify [--key F]... [--anchor F]`,
/// `audit key` and `audit head`.
pub async fn audit(ctx: &AppContext, cmd: Option<&AuditCmd>, json: bool, limit: usize) -> i32 {
    let cfg = match action_config(ctx) {
        Ok(c) => c,
        Err(e) => return fail(e, exit::USAGE),
    };
    let path = audit_path(ctx, &cfg);
    match cmd {
        Some(AuditCmd::Verify {
            keys,
            anchor,
            allow_unsigned_prefix,
        }) => {
            // Team mode verifies the shared log (keys from the team's
            // registry); --key/--anchor are about a local log.
            if keys.is_empty()
                && anchor.is_none()
                && let Some(code) = team_verify(ctx, &cfg).await
            {
                return code;
            }
            return audit_verify(ctx, &path, keys, anchor.as_deref(), *allow_unsigned_prefix);
        }
        Some(AuditCmd::Key) => return audit_key(ctx, &cfg),
        Some(AuditCmd::Head) => return audit_head(ctx, &path),
        None => {}
    }
    let team = (!ctx.opts.demo)
        .then(|| cfg.team.as_ref().map(|t| t.name.clone()))
        .flatten();
    let (mut recs, bad) = match records_for(ctx, &cfg, None).await {
        Ok(x) => x,
        Err(e) => return fail(e, exit::USAGE),
    };
    let open: Vec<(u64, String, String)> = audit::unresolved(&recs)
        .iter()
        .map(|r| (r.seq, r.action.clone(), r.target.clone()))
        .collect();
    recs.reverse();
    recs.truncate(limit);
    if json {
        let entries: Vec<serde_json::Value> = recs
            .iter()
            .filter_map(|r| serde_json::to_value(r).ok())
            .map(|v| audit::sanitize_detail(&v))
            .collect();
        let doc = serde_json::json!({
            "generated_at": ctx.now,
            "providers": [],
            "path": path.display().to_string(),
            "team": team,
            "unresolved": open.iter().map(|(s, _, _)| *s).collect::<Vec<_>>(),
            "entries": entries,
        });
        return match super::output::to_json(&doc) {
            Ok(s) => {
                print(&s);
                exit::OK
            }
            Err(e) => fail(e, exit::USAGE),
        };
    }
    let mut t = super::output::Table::new(vec![
        "SEQ", "TIME", "PHASE", "OUTCOME", "ACTION", "TARGET", "PROVIDER", "ACTOR", "REASON",
    ])
    .cap(5, 40)
    .cap(7, 30)
    .cap(8, 60);
    for r in &recs {
        t.row(record_row(r));
    }
    if recs.is_empty() {
        print("no audit records\n");
    } else {
        print(&t.render());
    }
    for (seq, action, target) in &open {
        eprintln!(
            "sitrep: warning: seq {seq} {} {}: intent recorded but no result (cut off midway); check the provider before retrying",
            SafeText::line(action),
            SafeText::line(target)
        );
    }
    if bad > 0 {
        eprintln!("sitrep: warning: {bad} line(s) could not be read; run `sitrep audit verify`");
    }
    exit::OK
}

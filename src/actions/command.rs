//! Runbook shell blocks (`[runbooks] allow_exec = true`): intent record,
//! `sh -c` with a timeout and no stdin, an excerpt of the output in the
//! result record.

use super::*;

impl Executor {
    pub(super) async fn run_command(
        &self,
        req: &ActionRequest,
        plan: &Plan,
        command: &str,
        mut warnings: Vec<SafeText>,
    ) -> Result<Executed, ExecError> {
        if !self.allow_exec {
            let e = self.entry(
                req,
                plan,
                Phase::Result,
                Outcome::Refused,
                None,
                json!({"refused": "[runbooks] allow_exec is off", "command": command}),
            );
            if let Err(err) = self.record(e, &mut warnings).await {
                tracing::warn!("could not record a refused runbook command: {err}");
            }
            self.deliver(&mut warnings).await;
            return Err(ExecError::ExecDisabled);
        }
        // A value only the responder knows, or a placeholder left unbound:
        // the command would act on a literal `<PID>` or `{service}`.
        let unfilled = crate::runbooks::walk::angle_placeholder(command)
            .map(str::to_string)
            .or_else(|| {
                crate::runbooks::bind::find(command)
                    .into_iter()
                    .find(|(n, _)| crate::runbooks::bind::is_known(n))
                    .map(|(n, _)| format!("{{{n}}}"))
            });
        if let Some(p) = unfilled {
            let why = format!("the command holds {p}, a value not filled in");
            let e = self.entry(
                req,
                plan,
                Phase::Result,
                Outcome::Refused,
                None,
                json!({"refused": why, "command": command}),
            );
            if let Err(err) = self.record(e, &mut warnings).await {
                tracing::warn!("could not record a refused runbook command: {err}");
            }
            self.deliver(&mut warnings).await;
            return Err(ExecError::Refused(why));
        }
        let key = new_idempotency_key();
        let intent = self.entry(
            req,
            plan,
            Phase::Intent,
            Outcome::Pending,
            Some(&key),
            json!({"command": command}),
        );
        let intent_seq = self
            .record(intent, &mut warnings)
            .await
            .map_err(ExecError::Audit)?;
        let out = tokio::time::timeout(
            EXEC_TIMEOUT,
            tokio::process::Command::new("sh")
                .arg("-c")
                .arg(command)
                .stdin(std::process::Stdio::null())
                .kill_on_drop(true)
                .output(),
        )
        .await;
        let (ok, detail, msg) = match out {
            Ok(Ok(o)) => {
                let mut all = o.stdout;
                all.extend_from_slice(&o.stderr);
                let cut = all.len().saturating_sub(OUTPUT_EXCERPT);
                let excerpt = SafeText::block(&String::from_utf8_lossy(&all[cut..])).into_string();
                let code = o.status.code();
                (
                    o.status.success(),
                    json!({"command": command, "exit": code, "output": excerpt, "truncated": cut > 0}),
                    match code {
                        Some(c) => format!("command exited with status {c}"),
                        None => "command was killed by a signal".into(),
                    },
                )
            }
            Ok(Err(e)) => (
                false,
                json!({"command": command, "error": e.to_string()}),
                format!("cannot run the command: {e}"),
            ),
            Err(_) => (
                false,
                json!({"command": command, "error": "timed out"}),
                format!("command timed out after {}s", EXEC_TIMEOUT.as_secs()),
            ),
        };
        let e = self.entry(
            req,
            plan,
            Phase::Result,
            if ok { Outcome::Ok } else { Outcome::Error },
            Some(&key),
            detail,
        );
        let mut records = vec![intent_seq];
        match self.record(e, &mut warnings).await {
            Ok(s) => records.push(s),
            Err(e) => warnings.push(SafeText::line(&format!(
                "the command ran but its result could not be recorded: {e}"
            ))),
        }
        self.deliver(&mut warnings).await;
        if ok {
            Ok(Executed {
                outcome: Outcome::Ok,
                message: SafeText::line(&msg),
                provider: None,
                idempotency_key: Some(key),
                result: None,
                records,
                warnings,
            })
        } else {
            Err(ExecError::Command(msg))
        }
    }
}

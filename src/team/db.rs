//! The connection to the team's PostgreSQL database and its schema.
//!
//! The URL holds the password: it is parsed here and nowhere else, and no
//! error text built from it leaves this file unscrubbed ([`scrub`]).

use crate::secrets::Secret;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::{AsyncMessage, Client, Config, Connection, Notification};

/// The longest a connection attempt may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// The schema, one migration a version, applied in order under an
/// advisory lock (several consoles may start at once). Never edit a
/// published migration: add the next one.
pub const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        "CREATE TABLE sitrep_audit_head (
        team text PRIMARY KEY,
        seq bigint NOT NULL,
        hash text NOT NULL
    );
    CREATE TABLE sitrep_audit (
        team text NOT NULL,
        seq bigint NOT NULL,
        prev text NOT NULL,
        hash text NOT NULL,
        record_hash text NOT NULL,
        idempotency_key text,
        phase text NOT NULL,
        key_id text,
        line text NOT NULL,
        appended_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (team, seq),
        UNIQUE (team, record_hash)
    );
    CREATE UNIQUE INDEX sitrep_audit_idempotency
        ON sitrep_audit (team, idempotency_key, phase)
        WHERE idempotency_key IS NOT NULL;
    CREATE TABLE sitrep_keys (
        team text NOT NULL,
        key_id text NOT NULL,
        actor text NOT NULL,
        host text NOT NULL,
        registered_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (team, key_id)
    );
    CREATE TABLE sitrep_leases (
        team text NOT NULL,
        target text NOT NULL,
        holder text NOT NULL,
        host text NOT NULL,
        session text NOT NULL,
        action text NOT NULL,
        reason text NOT NULL,
        incident text,
        since timestamptz NOT NULL,
        heartbeat timestamptz NOT NULL,
        ttl_ms bigint NOT NULL,
        PRIMARY KEY (team, target)
    );",
    ),
    (
        2,
        "CREATE TABLE sitrep_ticks (
        team text NOT NULL,
        incident text NOT NULL,
        runbook text NOT NULL,
        step integer NOT NULL,
        item integer NOT NULL,
        checked boolean NOT NULL,
        actor text NOT NULL,
        host text NOT NULL,
        session text NOT NULL,
        at timestamptz NOT NULL,
        PRIMARY KEY (team, incident, runbook, step, item)
    );
    CREATE TABLE sitrep_presence (
        team text NOT NULL,
        incident text NOT NULL,
        session text NOT NULL,
        actor text NOT NULL,
        host text NOT NULL,
        what text NOT NULL,
        detail text NOT NULL,
        heartbeat timestamptz NOT NULL,
        ttl_ms bigint NOT NULL,
        PRIMARY KEY (team, incident, session)
    );",
    ),
];

/// The advisory lock key that serializes migrations (any constant; the
/// same in every sitrep).
const MIGRATE_LOCK: i64 = 0x5173_7265_7000_0001;

/// Remove the URL, the password and their encodings from a message.
pub fn scrub(msg: &str, url: &Secret) -> String {
    let mut out = msg.to_string();
    let mut secrets = vec![url.expose().to_string()];
    if let Ok(cfg) = url.expose().parse::<Config>()
        && let Some(pw) = cfg.get_password()
    {
        secrets.push(String::from_utf8_lossy(pw).into_owned());
    }
    for s in secrets {
        for form in crate::secrets::secret_forms(&s) {
            out = out.replace(&form, "<redacted>");
        }
    }
    out
}

/// Is every host of the config on this machine (loopback or a Unix socket)?
fn local_only(cfg: &Config) -> bool {
    !cfg.get_hosts().is_empty()
        && cfg.get_hosts().iter().all(|h| match h {
            Host::Unix(_) => true,
            Host::Tcp(name) => {
                name == "localhost"
                    || name
                        .trim_start_matches('[')
                        .trim_end_matches(']')
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback())
            }
        })
}

/// Connect, and make sure the schema is current. Loopback hosts are
/// reached without TLS; any other host only over TLS (rustls, the
/// platform's roots), whatever the URL's `sslmode` says.
pub async fn connect(url: &Secret) -> Result<Client, String> {
    connect_with(url, None).await
}

/// [`connect`], the connection's notifications (LISTEN) sent to `notify`;
/// `notify` is dropped when the connection ends.
pub async fn connect_listening(
    url: &Secret,
    notify: mpsc::UnboundedSender<Notification>,
) -> Result<Client, String> {
    connect_with(url, Some(notify)).await
}

/// Drive a connection on its own task, forwarding notifications.
fn drive<S, T>(mut conn: Connection<S, T>, notify: Option<mpsc::UnboundedSender<Notification>>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    crate::spawn::task(async move {
        let Some(tx) = notify else {
            let _ = conn.await;
            return;
        };
        while let Some(Ok(m)) = futures::future::poll_fn(|cx| conn.poll_message(cx)).await {
            if let AsyncMessage::Notification(n) = m
                && tx.send(n).is_err()
            {
                break;
            }
        }
    });
}

async fn connect_with(
    url: &Secret,
    notify: Option<mpsc::UnboundedSender<Notification>>,
) -> Result<Client, String> {
    let mut cfg: Config = url
        .expose()
        .parse()
        .map_err(|_| "[team] database_url is not a PostgreSQL URL (postgres://user@host/db)")?;
    cfg.connect_timeout(CONNECT_TIMEOUT);
    if cfg.get_application_name().is_none() {
        cfg.application_name("sitrep");
    }
    let fail = |e: tokio_postgres::Error| {
        format!(
            "team database: {}",
            scrub(
                &crate::text::SafeText::line(&e.to_string()).into_string(),
                url
            )
        )
    };
    let connect = async {
        if local_only(&cfg) {
            let (client, conn) = cfg.connect(tokio_postgres::NoTls).await.map_err(fail)?;
            drive(conn, notify);
            Ok::<Client, String>(client)
        } else {
            cfg.ssl_mode(SslMode::Require);
            let _ = rustls::crypto::ring::default_provider().install_default();
            use rustls_platform_verifier::ConfigVerifierExt as _;
            let tls = rustls::ClientConfig::with_platform_verifier()
                .map_err(|e| format!("team database: TLS set-up failed: {e}"))?;
            let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls);
            let (client, conn) = cfg.connect(tls).await.map_err(fail)?;
            drive(conn, notify);
            Ok(client)
        }
    };
    let mut client = tokio::time::timeout(CONNECT_TIMEOUT + Duration::from_secs(1), connect)
        .await
        .map_err(|_| "team database: no answer within 4s".to_string())??;
    migrate(&mut client).await.map_err(|e| {
        format!(
            "team database: migration failed: {}",
            scrub(
                &crate::text::SafeText::line(&e.to_string()).into_string(),
                url
            )
        )
    })?;
    Ok(client)
}

/// Apply the migrations this database lacks, one transaction, under the
/// advisory lock.
pub async fn migrate(client: &mut Client) -> Result<(), tokio_postgres::Error> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATE_LOCK])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS sitrep_schema (
            version integer PRIMARY KEY,
            applied_at timestamptz NOT NULL DEFAULT now()
        )",
    )
    .await?;
    let row = tx
        .query_one("SELECT coalesce(max(version), 0) FROM sitrep_schema", &[])
        .await?;
    let have: i32 = row.try_get(0)?;
    for (version, sql) in MIGRATIONS {
        if *version <= have {
            continue;
        }
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO sitrep_schema (version) VALUES ($1)",
            &[version],
        )
        .await?;
    }
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_removes_the_url_and_password() {
        let url = Secret::new("postgres://ops:hunter2-pw@db.example.com/sitrep");
        let msg = "failed for postgres://ops:hunter2-pw@db.example.com/sitrep: hunter2-pw";
        let out = scrub(msg, &url);
        assert!(!out.contains("hunter2-pw"), "{out}");
    }

    #[test]
    fn only_loopback_hosts_skip_tls() {
        let c = |u: &str| u.parse::<Config>().unwrap();
        assert!(local_only(&c("postgres://a@127.0.0.1:5432/x")));
        assert!(local_only(&c("postgres://a@localhost/x")));
        assert!(local_only(&c("postgres://a@[::1]:5432/x")));
        assert!(!local_only(&c("postgres://a@db.example.com/x")));
        assert!(!local_only(&c("postgres://a@10.0.0.4/x")));
        assert!(!local_only(&c(
            "postgres://a@127.0.0.1,db.example.com/x?sslmode=disable"
        )));
    }
}

//! The listener: a dedicated connection that LISTENs on
//! [`live::CHANNEL`] and hands this team's notifications to the console.
//! It reconnects after any failure, every [`super::RETRY_EVERY`] like the
//! rest of team mode, and says when it is connected (the console then
//! reads again what it may have missed) and when it lost the connection.

use super::{Team, db, live};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// What the listener reports.
#[derive(Clone, Debug, PartialEq)]
pub enum Heard {
    /// Listening (again): what was missed must be read again.
    Connected,
    /// The connection failed or ended (why, scrubbed).
    Lost(String),
    Event(live::Event),
}

/// Listen for `team` until `tx` is closed (or the task is aborted),
/// retrying every `retry`.
pub fn spawn(
    team: Arc<Team>,
    tx: mpsc::Sender<Heard>,
    retry: Duration,
) -> tokio::task::JoinHandle<()> {
    crate::spawn::task(async move {
        loop {
            let lost = listen_once(&team, &tx).await;
            if tx.is_closed() || tx.send(Heard::Lost(lost)).await.is_err() {
                return;
            }
            tokio::time::sleep(retry).await;
        }
    })
}

/// One connection's life: connect, LISTEN, forward; returns why it ended.
async fn listen_once(team: &Team, tx: &mpsc::Sender<Heard>) -> String {
    let url = match &team.url {
        Ok(u) => u,
        Err(e) => return e.clone(),
    };
    let (ntx, mut nrx) = mpsc::unbounded_channel();
    let client = match db::connect_listening(url, ntx).await {
        Ok(c) => c,
        Err(e) => return e,
    };
    if let Err(e) = client
        .batch_execute(&format!("LISTEN {}", live::CHANNEL))
        .await
    {
        return team.scrubbed(&format!("team database: LISTEN failed: {e}"));
    }
    if tx.send(Heard::Connected).await.is_err() {
        return String::new();
    }
    while let Some(n) = nrx.recv().await {
        if n.channel() != live::CHANNEL {
            continue;
        }
        if let Some(ev) = live::parse(&team.name, &team.session, n.payload())
            && tx.send(Heard::Event(ev)).await.is_err()
        {
            return String::new();
        }
    }
    drop(client);
    "team database: the listening connection ended".into()
}

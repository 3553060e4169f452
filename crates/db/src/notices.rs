//! PostgreSQL notifications (`NOTIFY`) as a broadcast: one connection per process listens
//! on the given channels, and every subscriber sees every notice. Sent inside a
//! transaction, a notice goes out at its commit, so what it announces is visible to
//! whoever reacts to it; it reaches every replica of every service listening. A notice
//! can be missed (the listener reconnecting), so a waiter also looks at the table now
//! and then.

use futures_util::StreamExt;
use tokio::sync::broadcast;
use tokio_postgres::{AsyncMessage, NoTls};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub channel: String,
    pub payload: String,
}

#[derive(Clone)]
pub struct Notices {
    sender: broadcast::Sender<Notice>,
}

/// How long the listener waits before connecting again.
const RECONNECT: std::time::Duration = std::time::Duration::from_secs(1);

impl Notices {
    /// Starts listening on `channels` (plain identifiers) in the background.
    pub fn listen(url: &str, channels: &'static [&'static str]) -> Result<Self, crate::DbError> {
        let config: tokio_postgres::Config = url.parse().map_err(crate::DbError::Config)?;
        let (sender, _) = broadcast::channel(1024);
        let notices = Self { sender: sender.clone() };
        tokio::spawn(async move {
            loop {
                if let Err(err) = listen_once(&config, channels, &sender).await {
                    tracing::warn!(error = %err, "notification listener lost its connection");
                }
                tokio::time::sleep(RECONNECT).await;
            }
        });
        Ok(notices)
    }

    /// Notices from now on, in no particular guarantee of completeness (see the module).
    pub fn subscribe(&self) -> broadcast::Receiver<Notice> {
        self.sender.subscribe()
    }

    /// A broadcast nobody feeds: for tests of what does not depend on notices.
    pub fn silent() -> Self {
        Self { sender: broadcast::channel(1).0 }
    }
}

/// Returns when `receiver` gets a notice on `channel` with `payload`, or when it missed
/// notices (the caller then looks for itself); while the listener lives, not otherwise.
pub async fn announced(receiver: &mut broadcast::Receiver<Notice>, channel: &str, payload: &str) {
    loop {
        match receiver.recv().await {
            Ok(notice) if notice.channel == channel && notice.payload == payload => return,
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(_)) => return,
            Err(broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
        }
    }
}

async fn listen_once(
    config: &tokio_postgres::Config,
    channels: &[&str],
    sender: &broadcast::Sender<Notice>,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(NoTls).await?;
    let (ended_tx, ended) = tokio::sync::oneshot::channel();
    let forward = sender.clone();
    tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        let mut result = Ok(());
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    let _ = forward.send(Notice { channel: n.channel().to_string(), payload: n.payload().to_string() });
                }
                Ok(_) => {}
                Err(err) => {
                    result = Err(err);
                    break;
                }
            }
        }
        let _ = ended_tx.send(result);
    });
    let listen: String = channels.iter().map(|c| format!("LISTEN {c};")).collect();
    client.batch_execute(&listen).await?;
    tracing::info!(?channels, "listening for notifications");
    match ended.await {
        Ok(result) => result,
        Err(_) => Ok(()),
    }
}

//! Outgoing mail. There is no SMTP relay in this deployment, so messages are written as
//! files into an outbox directory (like Django's file e-mail backend); a mail relay can
//! pick them up from there. Their content (which holds reset tokens) is never logged.

use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Outbox {
    dir: PathBuf,
}

impl Outbox {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// Writes one message as `<recipient>-<n>.eml`.
    pub async fn send(&self, to: &str, subject: &str, body: &str) -> std::io::Result<()> {
        tokio::fs::create_dir_all(&self.dir).await?;
        let safe: String =
            to.chars().map(|c| if c.is_alphanumeric() || "@.-_".contains(c) { c } else { '_' }).collect();
        let name = format!("{safe}-{}.eml", chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default());
        let message = format!("To: {to}\nSubject: {subject}\n\n{body}\n");
        tokio::fs::write(self.dir.join(name), message).await?;
        tracing::info!(subject, "mail written to outbox");
        Ok(())
    }
}

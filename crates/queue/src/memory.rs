//! The queue rules in memory, for unit tests of whatever consumes or publishes (RabbitMQ
//! itself stays in the end-to-end tests): one FIFO per pool, a delivery that is dropped
//! unacked goes back to the front (as an unacked message does when its consumer dies), a
//! failed delivery is queued again at once with its attempt count and, after the last
//! attempt, kept as a dead letter. Retries are immediate here; RabbitMQ delays them.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

#[derive(Debug, Clone)]
pub(crate) struct Message {
    pub id: String,
    pub body: Vec<u8>,
    pub attempt: u32,
    pub trace: HashMap<String, String>,
}

#[derive(Default)]
pub(crate) struct Memory {
    ready: Mutex<HashMap<String, VecDeque<Message>>>,
    dead: Mutex<HashMap<String, Vec<Message>>>,
    arrived: Notify,
}

impl Memory {
    fn ready(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<Message>>> {
        // A test that panicked while holding the lock leaves it poisoned; the data is fine.
        self.ready.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn push(&self, pool: &str, message: Message) {
        self.ready().entry(pool.to_string()).or_default().push_back(message);
        self.arrived.notify_waiters();
    }

    fn push_front(&self, pool: &str, message: Message) {
        self.ready().entry(pool.to_string()).or_default().push_front(message);
        self.arrived.notify_waiters();
    }

    pub fn bury(&self, pool: &str, message: Message) {
        self.dead.lock().unwrap_or_else(|p| p.into_inner()).entry(pool.to_string()).or_default().push(message);
    }

    pub fn dead(&self, pool: &str) -> Vec<Message> {
        self.dead.lock().unwrap_or_else(|p| p.into_inner()).get(pool).cloned().unwrap_or_default()
    }

    /// The next message of `pool`, waiting for one.
    pub async fn next(self: &Arc<Self>, pool: &str) -> Receipt {
        loop {
            let arrived = self.arrived.notified();
            if let Some(message) = self.ready().get_mut(pool).and_then(VecDeque::pop_front) {
                return Receipt { memory: self.clone(), pool: pool.to_string(), message: Some(message) };
            }
            arrived.await;
        }
    }
}

/// A message handed out and not settled yet: dropped unsettled, it goes back.
pub(crate) struct Receipt {
    memory: Arc<Memory>,
    pool: String,
    pub message: Option<Message>,
}

impl Receipt {
    pub fn settle(mut self) {
        self.message = None;
    }
}

impl Drop for Receipt {
    fn drop(&mut self) {
        if let Some(message) = self.message.take() {
            self.memory.push_front(&self.pool, message);
        }
    }
}

//! The open connections, shared out so that no client can keep the server
//! from answering another: how many each client network holds (refused
//! past its cap, reported now and then), each one's state, and the one idle
//! the longest, closed at the global cap to make room.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::network::Network;

/// How often, at most, refused connections are reported on stderr.
const REFUSALS_REPORTED_EVERY: Duration = Duration::from_secs(60);

/// Whom a connection is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Holder {
    /// One client network, capped at `max_connections_per_client`.
    Client(Network),
    /// A trusted proxy: its connections carry the requests of many
    /// clients, so they count against the global cap only.
    Proxy,
}

/// The open connections: how many each client network holds, and each
/// one's state, so the one idle the longest can be closed.
#[derive(Default)]
pub(super) struct Connections {
    open: Mutex<Open>,
}

#[derive(Default)]
pub(super) struct Open {
    next_id: u64,
    all: HashMap<u64, Arc<Connection>>,
    per_client: HashMap<Network, usize>,
    /// Connections refused over the per-client cap since they were last
    /// reported, and when that was.
    refused: u64,
    reported: Option<Instant>,
}

/// One open connection, as the accept loop and its requests see it.
pub(super) struct Connection {
    id: u64,
    holder: Holder,
    life: Mutex<Life>,
    /// Wakes the connection's task to close it gracefully.
    pub(super) close: Notify,
}

pub(super) struct Life {
    state: State,
    /// Requests begun on this connection.
    requests: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    /// Waiting for a request head since then (or since it opened).
    Idle(Instant),
    /// A request is being read or answered.
    Busy,
    /// Told to close: it finishes what it has and closes.
    Closing,
}

/// The state is plain data: a panic elsewhere leaves it usable.
pub(super) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Connections {
    /// Whether `holder` may open another connection: a client network
    /// that already holds `cap` may not (counted, and reported now and
    /// then on stderr).
    pub(super) fn admits(&self, holder: Holder, cap: usize) -> bool {
        let Holder::Client(network) = holder else {
            return true;
        };
        let mut open = lock(&self.open);
        if open.per_client.get(&network).is_some_and(|held| *held >= cap) {
            open.refuse(network, cap);
            return false;
        }
        true
    }

    /// Records a connection opened for `holder`, idle until its first request.
    pub(super) fn open(&self, holder: Holder) -> Arc<Connection> {
        let mut open = lock(&self.open);
        if let Holder::Client(network) = holder {
            *open.per_client.entry(network).or_default() += 1;
        }
        open.next_id += 1;
        let connection = Arc::new(Connection {
            id: open.next_id,
            holder,
            life: Mutex::new(Life {
                state: State::Idle(Instant::now()),
                requests: 0,
            }),
            close: Notify::new(),
        });
        open.all.insert(connection.id, connection.clone());
        connection
    }

    /// Forgets a connection that has closed.
    pub(super) fn closed(&self, connection: &Connection) {
        let mut open = lock(&self.open);
        open.all.remove(&connection.id);
        if let Holder::Client(network) = connection.holder
            && let Some(held) = open.per_client.get_mut(&network)
        {
            *held -= 1;
            if *held == 0 {
                open.per_client.remove(&network);
            }
        }
    }

    /// Closes the connection idle the longest, if any is idle.
    pub(super) fn close_oldest_idle(&self) {
        let open = lock(&self.open);
        let oldest = open
            .all
            .values()
            .filter_map(|c| match lock(&c.life).state {
                State::Idle(since) => Some((since, c)),
                State::Busy | State::Closing => None,
            })
            .min_by_key(|(since, _)| *since);
        if let Some((_, connection)) = oldest {
            connection.close();
        }
    }

    /// Tells every connection to close once its request is answered.
    pub(super) fn close_all(&self) {
        for connection in lock(&self.open).all.values() {
            connection.close();
        }
    }
}

impl Open {
    pub(super) fn refuse(&mut self, network: Network, cap: usize) {
        self.refused += 1;
        if self
            .reported
            .is_none_or(|at| at.elapsed() >= REFUSALS_REPORTED_EVERY)
        {
            eprintln!(
                "warning: {} connection(s) refused: {network} already had {cap} open \
                 (--max-connections-per-client); a reverse proxy in front goes in site.trusted_proxies",
                self.refused
            );
            self.refused = 0;
            self.reported = Some(Instant::now());
        }
    }
}

impl Connection {
    pub(super) fn close(&self) {
        lock(&self.life).state = State::Closing;
        // Kept until the task waits for it, when that is later.
        self.close.notify_one();
    }

    /// A request has begun: the connection is busy until the guard is
    /// dropped. True when it is the last the connection may serve.
    pub(super) fn begin(self: &Arc<Self>, max_requests: usize) -> (Busy, bool) {
        let mut life = lock(&self.life);
        if life.state != State::Closing {
            life.state = State::Busy;
        }
        life.requests += 1;
        (Busy(self.clone()), life.requests >= max_requests)
    }
}

/// A request in hand; idle again when it is dropped (answered, or its
/// connection gone).
pub(super) struct Busy(Arc<Connection>);

impl Drop for Busy {
    fn drop(&mut self) {
        let mut life = lock(&self.0.life);
        if life.state == State::Busy {
            life.state = State::Idle(Instant::now());
        }
    }
}

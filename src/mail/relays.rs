//! Several relays in one send: each worker belongs to one relay, and takes
//! a message only on its relay's turn, so the messages spread by weight. A
//! relay whose session fails for good is rested for its cool-down and
//! takes no turn meanwhile: the messages it would have had go to the
//! others. Which messages went where is never decided here: the delivery
//! journal keeps each one once, whichever relay took it.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::config::Relay;

/// How far a relay may run ahead of the slowest one that is up, in
/// messages per unit of weight: enough that a relay's connections never
/// wait on one another's, little enough that the shares stay the weights'.
const LEAD: f64 = 4.0;

/// The relays' turns, shared by every worker of a send.
pub(super) struct Relays {
    state: Mutex<State>,
    changed: Condvar,
    /// Each relay's weight, connections and cool-down.
    settings: Vec<Settings>,
}

struct Settings {
    name: String,
    weight: f64,
    workers: usize,
    cooldown: Duration,
}

#[derive(Default)]
struct State {
    relays: Vec<Standing>,
    /// The send is over (done or stopped): nobody waits for a turn.
    finished: bool,
}

/// One relay during the send.
#[derive(Default)]
struct Standing {
    /// Turns taken: messages handed to its workers.
    taken: u64,
    /// Its workers still sending (not parked).
    live: usize,
    /// Counts the relay's rests: a worker of an earlier one is parked.
    generation: u64,
    /// Resting until then.
    down_until: Option<Instant>,
    sent: usize,
    /// Sessions that failed for good, and the first one's words.
    failures: usize,
    first_failure: Option<String>,
    /// Times it was rested.
    rests: usize,
    /// Workers parked while the others of their relay went on.
    parked: usize,
}

/// A worker's place: its relay and whether it may send.
pub(super) struct Shift {
    pub(super) relay: usize,
    generation: u64,
    parked: bool,
}

/// What a worker's giving up did to its relay.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Only this connection stops; the relay's others go on.
    Parked,
    /// The relay rests; another takes its messages.
    Rested,
    /// Every relay rests: the send stops.
    AllDown,
}

/// One relay's part in a send, for its report.
#[derive(Debug, Default)]
pub(crate) struct Share {
    /// `host:port`.
    pub(crate) name: String,
    pub(crate) sent: usize,
    pub(crate) failures: usize,
    pub(crate) first_failure: Option<String>,
    /// Times it was rested for its cool-down.
    pub(crate) rests: usize,
    /// Connections that gave up while the relay's others went on.
    pub(crate) parked: usize,
    /// Its connections.
    pub(crate) workers: usize,
}

impl Relays {
    /// `workers` of each relay: its concurrency (one for the file transport).
    pub(super) fn new(relays: &[Relay], workers: impl Fn(&Relay) -> usize) -> Relays {
        let settings: Vec<Settings> = relays
            .iter()
            .map(|relay| Settings {
                name: relay.name(),
                weight: f64::from(relay.weight),
                workers: workers(relay),
                cooldown: Duration::from_secs(relay.cooldown_secs),
            })
            .collect();
        let relays = settings
            .iter()
            .map(|s| Standing {
                live: s.workers,
                ..Standing::default()
            })
            .collect();
        Relays {
            state: Mutex::new(State {
                relays,
                finished: false,
            }),
            changed: Condvar::new(),
            settings,
        }
    }

    /// Every worker's shift, relay by relay.
    pub(super) fn shifts(&self) -> Vec<Shift> {
        self.settings
            .iter()
            .enumerate()
            .flat_map(|(relay, s)| {
                (0..s.workers).map(move |_| Shift {
                    relay,
                    generation: 0,
                    parked: false,
                })
            })
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("relays poisoned")
    }

    /// Waits for the shift's relay to have a turn and takes it; `false`
    /// once the send is over.
    pub(super) fn turn(&self, shift: &mut Shift) -> bool {
        let mut state = self.lock();
        loop {
            if state.finished {
                return false;
            }
            self.revive(&mut state, shift.relay);
            if self.working(&state, shift) && self.within_share(&state, shift.relay) {
                state.relays[shift.relay].taken += 1;
                if self.settings.len() > 1 {
                    self.changed.notify_all();
                }
                return true;
            }
            let wait = state.relays[shift.relay]
                .down_until
                .map_or(Duration::from_millis(100), |until| {
                    until.saturating_duration_since(Instant::now())
                });
            state = self
                .changed
                .wait_timeout(state, wait.max(Duration::from_millis(1)))
                .expect("relays poisoned")
                .0;
        }
    }

    /// Whether the shift's worker may send now: its relay is up and it is
    /// not parked (a worker of a relay back from its rest starts again).
    pub(super) fn may_send(&self, shift: &mut Shift) -> bool {
        let state = self.lock();
        self.working(&state, shift)
    }

    fn working(&self, state: &State, shift: &mut Shift) -> bool {
        let relay = &state.relays[shift.relay];
        if relay.down_until.is_some() {
            return false;
        }
        if shift.generation != relay.generation {
            shift.generation = relay.generation;
            shift.parked = false;
        }
        !shift.parked
    }

    /// A relay whose rest is over is up again, with all its connections,
    /// and as many turns as its share of those taken meanwhile.
    fn revive(&self, state: &mut State, relay: usize) {
        let due = state.relays[relay]
            .down_until
            .is_some_and(|until| Instant::now() >= until);
        if !due {
            return;
        }
        let floor = self.lowest_ratio(state, None).unwrap_or(0.0);
        let standing = &mut state.relays[relay];
        standing.down_until = None;
        standing.live = self.settings[relay].workers;
        // Whole turns: the ratio times the weight is a count of messages.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let caught_up = (floor * self.settings[relay].weight).floor() as u64;
        standing.taken = standing.taken.max(caught_up);
        self.changed.notify_all();
    }

    /// Turns per unit of weight of the relay furthest behind, among those up.
    fn lowest_ratio(&self, state: &State, except: Option<usize>) -> Option<f64> {
        #[allow(clippy::cast_precision_loss)]
        state
            .relays
            .iter()
            .enumerate()
            .filter(|(i, r)| Some(*i) != except && r.down_until.is_none() && r.live > 0)
            .map(|(i, r)| r.taken as f64 / self.settings[i].weight)
            .reduce(f64::min)
    }

    fn within_share(&self, state: &State, relay: usize) -> bool {
        let Some(lowest) = self.lowest_ratio(state, Some(relay)) else {
            return true;
        };
        #[allow(clippy::cast_precision_loss)]
        let ratio = state.relays[relay].taken as f64 / self.settings[relay].weight;
        ratio < lowest + LEAD
    }

    /// Whether a relay other than this one is up to take a message now.
    pub(super) fn others_up(&self, relay: usize) -> bool {
        let state = self.lock();
        state
            .relays
            .iter()
            .enumerate()
            .any(|(i, r)| i != relay && r.live > 0 && r.down_until.is_none())
    }

    /// A worker's session failed for good (`error`): a passing failure of
    /// one connection while others of its relay work parks only it (a
    /// server that takes fewer connections); otherwise its relay rests.
    pub(super) fn gave_up(&self, shift: &mut Shift, transient: bool, error: &str) -> Verdict {
        let mut state = self.lock();
        let settings = &self.settings[shift.relay];
        let relay = &mut state.relays[shift.relay];
        if relay.generation == shift.generation && relay.down_until.is_none() {
            relay.failures += 1;
            relay.first_failure.get_or_insert_with(|| error.to_string());
            if transient && relay.live > 1 {
                relay.live -= 1;
                relay.parked += 1;
                shift.parked = true;
                return Verdict::Parked;
            }
            relay.down_until = Some(Instant::now() + settings.cooldown);
            relay.generation += 1;
            relay.live = 0;
            relay.rests += 1;
            self.changed.notify_all();
        }
        if state.relays.iter().all(|r| r.down_until.is_some() || r.live == 0) {
            Verdict::AllDown
        } else {
            Verdict::Rested
        }
    }

    /// A message the relay's server took.
    pub(super) fn sent(&self, relay: usize) {
        self.lock().relays[relay].sent += 1;
    }

    /// The send is over: parked and resting workers stop waiting.
    pub(super) fn finish(&self) {
        self.lock().finished = true;
        self.changed.notify_all();
    }

    /// Each relay's part, in the config's order.
    pub(super) fn shares(self) -> Vec<Share> {
        let state = self.state.into_inner().expect("relays poisoned");
        state
            .relays
            .into_iter()
            .zip(self.settings)
            .map(|(r, s)| Share {
                name: s.name,
                sent: r.sent,
                failures: r.failures,
                first_failure: r.first_failure,
                rests: r.rests,
                parked: r.parked,
                workers: s.workers,
            })
            .collect()
    }
}

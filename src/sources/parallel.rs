//! Work spread over the cores, its results taken in order and a few at a
//! time, so that memory does not grow with the number of sources.

use std::num::NonZero;
use std::sync::mpsc::{Receiver, sync_channel};

/// Results a thread may have waiting. With one, a thread that finished its
/// next source waited whenever the taker was descheduled (the workers and
/// the taker share the cores): four took a fetch of 100 feeds from 222 to
/// 207 ms, for a few sources' items more in memory.
const AHEAD: usize = 4;

/// Runs `work` on every input, on as many threads as there are cores, and
/// hands the results to `each` in the order of the inputs.
///
/// Input `i` goes to thread `i % threads`, whose results wait in a channel
/// that holds [`AHEAD`]: however uneven the work, at most `AHEAD + 1`
/// results a thread are done and not yet taken.
pub(crate) fn map_in_order<I, O>(inputs: Vec<I>, work: impl Fn(I) -> O + Sync, mut each: impl FnMut(O))
where
    I: Send,
    O: Send,
{
    let cores = std::thread::available_parallelism().map_or(1, NonZero::get);
    let threads = cores.min(inputs.len());
    if threads <= 1 {
        inputs.into_iter().map(work).for_each(each);
        return;
    }
    let count = inputs.len();
    let mut shares: Vec<Vec<I>> = (0..threads).map(|_| Vec::new()).collect();
    for (index, input) in inputs.into_iter().enumerate() {
        shares[index % threads].push(input);
    }
    let work = &work;
    std::thread::scope(|scope| {
        let results: Vec<Receiver<O>> = shares
            .into_iter()
            .map(|share| {
                let (send, receive) = sync_channel(AHEAD);
                scope.spawn(move || {
                    for input in share {
                        if send.send(work(input)).is_err() {
                            return; // the receiving side is gone: it panicked
                        }
                    }
                });
                receive
            })
            .collect();
        for index in 0..count {
            each(results[index % threads].recv().expect("a worker thread panicked"));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::map_in_order;

    #[test]
    fn gives_every_result_in_input_order() {
        let mut seen = Vec::new();
        map_in_order((0..100).collect(), |n: u64| n * n, |square| seen.push(square));
        assert_eq!(seen, (0..100).map(|n| n * n).collect::<Vec<_>>());
    }
}

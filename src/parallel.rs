//! CPU work on all cores: the one place sihai spreads a slice over scoped threads.
//!
//! Writes spend their CPU on per-article work that depends on the article alone
//! (sanitizing, excerpts, serializing and compressing records); these helpers split such
//! work over the machine's cores and join the results back in input order. Small inputs
//! run on the calling thread: a thread costs tens of microseconds, about what one article
//! costs, so a single-article POST never spawns one.

/// `f` over consecutive parts of `items`, one part per core (at most 8), the results in
/// input order; one part, on the calling thread, below [`PARALLEL_FROM`] items.
pub fn chunks<'a, T: Sync, R: Send>(items: &'a [T], f: impl Fn(&'a [T]) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    if items.len() < PARALLEL_FROM || threads == 1 {
        return vec![f(items)];
    }
    let f = &f;
    std::thread::scope(|scope| {
        let parts: Vec<_> =
            items.chunks(items.len().div_ceil(threads)).map(|part| scope.spawn(move || f(part))).collect();
        parts.into_iter().map(|p| p.join().expect("per-article work never panics")).collect()
    })
}

/// `f` over every item, spread like [`chunks`]; results in input order.
pub fn map<'a, T: Sync, R: Send>(items: &'a [T], f: impl Fn(&'a T) -> R + Sync) -> Vec<R> {
    chunks(items, |part| part.iter().map(&f).collect::<Vec<R>>()).into_iter().flatten().collect()
}

/// Work on at least this many items is spread over several threads.
pub const PARALLEL_FROM: usize = 64;

#[cfg(test)]
mod tests {
    #[test]
    fn results_keep_input_order_below_and_above_the_threshold() {
        for n in [0, 1, super::PARALLEL_FROM - 1, super::PARALLEL_FROM, 1_000] {
            let items: Vec<usize> = (0..n).collect();
            assert_eq!(super::map(&items, |i| i * 2), items.iter().map(|i| i * 2).collect::<Vec<_>>());
            assert_eq!(super::chunks(&items, |p| p.len()).iter().sum::<usize>(), n);
        }
    }
}

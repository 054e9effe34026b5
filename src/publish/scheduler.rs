//! The scheduler: releases scheduled articles when they fall due, by itself.

use std::sync::Arc;

use super::Publisher;
use crate::time::now;

/// Runs until `stop` completes: releases scheduled articles when they fall due, waking at
/// the next due time or when a write stores a new scheduled article.
pub async fn run_scheduler(publisher: Arc<Publisher>, stop: impl std::future::Future<Output = ()>) {
    let mut stop = std::pin::pin!(stop);
    loop {
        let p = publisher.clone();
        let next = match tokio::task::spawn_blocking(move || p.release_due()).await {
            Ok(Ok(next)) => next,
            Ok(Err(e)) => {
                tracing::error!("releasing scheduled articles: {e}; retrying in 5 s");
                Some(now() + 5)
            }
            Err(e) => {
                tracing::error!("scheduler task failed: {e}");
                Some(now() + 5)
            }
        };
        let wait = match next {
            // Wake just after the due second begins; re-check at least hourly.
            Some(due) => std::time::Duration::from_millis(((due - now()).max(0) as u64) * 1000 + 50).min(HOUR),
            None => HOUR,
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = publisher.scheduled.notified() => {}
            _ = &mut stop => return,
        }
    }
}

const HOUR: std::time::Duration = std::time::Duration::from_secs(3600);

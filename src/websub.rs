//! WebSub publishing: telling hubs that a feed changed, in the background.
//!
//! A write hands the changed feeds' URLs to [`WebSub::notify`] and returns at once; a
//! worker thread sends `hub.mode=publish&hub.url=<feed URL>` to every hub, retrying with
//! exponential backoff. At most one notification per (feed URL, hub) is ever pending: a
//! change while one waits adds nothing, a change while one is being sent queues exactly
//! one more. On shutdown the queue is dropped with a log line.

use std::collections::HashSet;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use url::Url;

use crate::metrics::Metrics;

/// Attempts per notification before it is dropped with a log line.
const MAX_ATTEMPTS: u32 = 10;
/// The longest wait between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

struct Job {
    hub: usize,
    topic: String,
    attempt: u32,
    not_before: Instant,
}

#[derive(Default)]
struct Queue {
    jobs: Vec<Job>,
    /// (hub, topic) of the jobs waiting in `jobs`.
    pending: HashSet<(usize, String)>,
    stopping: bool,
}

/// The hubs and the queue of notifications to them.
pub struct WebSub {
    hubs: Vec<Url>,
    queue: Mutex<Queue>,
    wake: Condvar,
    /// Delay of the first retry (tests shorten it).
    first_backoff: Duration,
    /// Counts outcomes: `accepted`, `retried` (a hub refused or failed; another attempt
    /// is queued), `abandoned` (given up after the last attempt).
    metrics: Arc<Metrics>,
}

impl WebSub {
    /// A publisher for `hubs` (none: every call is a no-op).
    pub fn new(hubs: Vec<Url>, metrics: Arc<Metrics>) -> Arc<WebSub> {
        let first_backoff = std::env::var("SIHAI_WEBSUB_BACKOFF_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map(Duration::from_millis)
            .unwrap_or(Duration::from_secs(1));
        Arc::new(WebSub { hubs, queue: Mutex::new(Queue::default()), wake: Condvar::new(), first_backoff, metrics })
    }

    /// Queues a notification of each topic (feed URL) to each hub, unless one is pending.
    pub fn notify(&self, topics: &[String]) {
        if self.hubs.is_empty() || topics.is_empty() {
            return;
        }
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        for hub in 0..self.hubs.len() {
            for topic in topics {
                if q.pending.insert((hub, topic.clone())) {
                    q.jobs.push(Job { hub, topic: topic.clone(), attempt: 0, not_before: Instant::now() });
                }
            }
        }
        drop(q);
        self.wake.notify_one();
    }

    /// Starts the worker thread (when there are hubs).
    pub fn start(self: &Arc<Self>) -> Option<std::thread::JoinHandle<()>> {
        if self.hubs.is_empty() {
            return None;
        }
        let me = self.clone();
        Some(
            std::thread::Builder::new()
                .name("websub".into())
                .spawn(move || me.work())
                .expect("spawning the WebSub thread"),
        )
    }

    /// Stops the worker; notifications still queued are dropped with a log line.
    pub fn stop(&self) {
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        q.stopping = true;
        if !q.jobs.is_empty() {
            tracing::warn!("shutting down: dropping {} pending WebSub notification(s)", q.jobs.len());
            q.jobs.clear();
            q.pending.clear();
        }
        drop(q);
        self.wake.notify_all();
    }

    fn work(&self) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        while let Some(job) = self.next_job() {
            let hub = &self.hubs[job.hub];
            let form = [("hub.mode", "publish"), ("hub.url", job.topic.as_str())];
            let result = agent.post(hub.as_str()).send_form(form);
            match result {
                Ok(r) if r.status().is_success() => {
                    Metrics::count(&self.metrics.websub, "accepted", 1);
                    tracing::info!("WebSub: {hub} accepted publish of {}", job.topic);
                }
                other => {
                    let why = match other {
                        Ok(r) => format!("answered {}", r.status()),
                        Err(e) => e.to_string(),
                    };
                    self.retry(job, &why);
                }
            }
        }
    }

    /// The next job that is due, waiting for one; `None` once stopping.
    fn next_job(&self) -> Option<Job> {
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if q.stopping {
                return None;
            }
            let now = Instant::now();
            if let Some(i) = q.jobs.iter().position(|j| j.not_before <= now) {
                let job = q.jobs.swap_remove(i);
                q.pending.remove(&(job.hub, job.topic.clone()));
                return Some(job);
            }
            let wait = q.jobs.iter().map(|j| j.not_before - now).min().unwrap_or(Duration::from_secs(3600));
            q = self.wake.wait_timeout(q, wait).unwrap_or_else(|p| p.into_inner()).0;
        }
    }

    fn retry(&self, job: Job, why: &str) {
        let hub = &self.hubs[job.hub];
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        if q.stopping || q.pending.contains(&(job.hub, job.topic.clone())) {
            return; // a newer notification of the same feed is already queued
        }
        if job.attempt + 1 >= MAX_ATTEMPTS {
            Metrics::count(&self.metrics.websub, "abandoned", 1);
            tracing::error!(
                "WebSub: giving up on telling {hub} about {} after {MAX_ATTEMPTS} attempts: {why}",
                job.topic
            );
            return;
        }
        Metrics::count(&self.metrics.websub, "retried", 1);
        let backoff = (self.first_backoff * 2u32.saturating_pow(job.attempt)).min(MAX_BACKOFF);
        tracing::warn!("WebSub: {hub} failed for {} ({why}); retrying in {backoff:?}", job.topic);
        q.pending.insert((job.hub, job.topic.clone()));
        q.jobs.push(Job { attempt: job.attempt + 1, not_before: Instant::now() + backoff, ..job });
        drop(q);
        self.wake.notify_one();
    }
}

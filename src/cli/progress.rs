//! Progress of the long commands (`import`, `ingest`, `export`, `import --restore`) on a
//! terminal: articles done, the rate, and the time left where the total is known.
//!
//! Drawn on stderr only when stderr is a terminal: into a pipe, a file, journald or a
//! test's capture not one byte of it is written ([`ProgressBar::hidden`]). Updating costs
//! an atomic add (`inc`); indicatif redraws at most a few times a second.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

/// Redraws a second: enough to read, too few to cost anything.
const REDRAWS_PER_SECOND: u8 = 4;

/// A counter of articles (or records) labelled `what`: a bar towards `total` with the
/// rate and time left, or, when the total is not known, the count and rate.
pub fn articles(what: String, total: Option<u64>) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let (bar, template) = match total {
        Some(n) => (ProgressBar::new(n), "{msg} [{bar:20}] {human_pos}/{human_len} ({rate}, {eta} left)"),
        None => (ProgressBar::new_spinner(), "{spinner} {msg}: {human_pos} ({rate})"),
    };
    let style = ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar());
    // Whole articles a second (indicatif's `per_sec` prints four decimals).
    let rate = |state: &ProgressState, w: &mut dyn std::fmt::Write| {
        let _ = write!(w, "{:.0}/s", state.per_sec());
    };
    bar.set_style(style.with_key("rate", rate).progress_chars("=> "));
    bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(REDRAWS_PER_SECOND));
    bar.set_message(what);
    bar
}

//! Black-box tests of the real `sihai` binary: a real sled store in a temp dir, a real
//! daemon on an ephemeral loopback port, real HTTP, feeds read back by a strict XML parser
//! (roxmltree) and a feed parser (feed-rs). One test binary; `suite/util.rs` is the harness.

mod suite;

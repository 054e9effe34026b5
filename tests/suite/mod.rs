mod api;
mod cli;
mod feeds;
mod polling;
pub mod util;

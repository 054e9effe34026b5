mod api;
mod cli;
mod feeds;
pub mod util;

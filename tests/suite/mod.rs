mod api;
mod browser;
mod cli;
mod feeds;
mod polling;
mod subscribe;
pub mod util;

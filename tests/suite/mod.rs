mod api;
mod browser;
mod cli;
mod feeds;
mod polling;
mod reliability;
mod subscribe;
pub mod util;

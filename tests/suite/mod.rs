mod api;
mod browser;
mod cli;
mod connections;
mod feeds;
mod polling;
mod reliability;
mod subscribe;
pub mod util;

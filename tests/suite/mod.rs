mod cli;
mod feeds;
pub mod util;

//! `sihai serve`: the process around the [`Daemon`]: overrides from the command line, the
//! runtime, the bound socket and the stop signals.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;

use super::outcome::Outcome;
use crate::config::Config;
use crate::daemon::{Daemon, Overrides, Reloader, StartError};

/// Runs the daemon on `config` until SIGTERM or SIGINT; SIGHUP reloads the config file
/// and the tokens.
pub fn serve(config: Config, listen: Option<SocketAddr>, data_dir: Option<PathBuf>) -> anyhow::Result<Outcome> {
    let overrides = Overrides { listen, data_dir };
    let config = overrides.apply(config);
    let config_path = config.path.clone();
    let listen = config.server.listen;
    // The address first: a port in use must change nothing on disk (no store created).
    let socket = match bind(listen) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("sihai: {e}");
            return Ok(Outcome::Refused);
        }
    };
    let daemon = match Daemon::open(config) {
        Ok(d) => d,
        Err(e) => {
            match &e {
                StartError::Store(store) => eprintln!("sihai: {}", super::outcome::with_hint(store)),
                StartError::Tokens(_) => eprintln!("sihai: {e}"),
            }
            return Ok(match e {
                StartError::Store(_) => Outcome::StoreUnavailable,
                StartError::Tokens(_) => Outcome::BadConfig,
            });
        }
    };
    let reloader = Arc::new(daemon.reloader(config_path, overrides));
    let runtime = Daemon::runtime().context("starting the runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::from_std(socket).context("listening")?;
        // Handlers go in before "listening" is logged: a signal sent by anyone who saw
        // that line must stop (or reload) the daemon, never kill it by the default action.
        let stop = stop_signal()?;
        reload_on_hangup(reloader)?;
        daemon.run(listener, stop).await.context("flushing the store at shutdown")
    })?;
    // The deadline holds: a render or store read still running on the blocking pool (the
    // store is flushed, nothing acknowledged is left) is not waited for.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    tracing::info!("stopped");
    Ok(Outcome::Ok)
}

/// Binds the daemon's address, saying what to do when it cannot.
fn bind(listen: SocketAddr) -> Result<std::net::TcpListener, String> {
    let socket = std::net::TcpListener::bind(listen).map_err(|e| {
        let hint = match e.kind() {
            std::io::ErrorKind::AddrInUse => "another process listens there (another sihai?): stop it, or choose another address with [server] listen or --listen",
            std::io::ErrorKind::PermissionDenied => "ports below 1024 need privileges: use a higher port and a proxy in front, or grant CAP_NET_BIND_SERVICE",
            std::io::ErrorKind::AddrNotAvailable => "no interface of this machine has that address: check [server] listen",
            _ => "check [server] listen or --listen",
        };
        format!("cannot listen on {listen}: {e}; {hint} (nothing was written)")
    })?;
    socket.set_nonblocking(true).map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    Ok(socket)
}

/// Installs the SIGHUP handler now and reloads on each SIGHUP (one reload at a time;
/// hangups during a reload are folded into the next). systemd hears `RELOADING=1` and
/// then `READY=1` (`Type=notify`).
fn reload_on_hangup(reloader: Arc<Reloader>) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hup = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                tracing::info!("SIGHUP: reloading the configuration and the tokens");
                let _ = sd_notify::notify(&[sd_notify::NotifyState::Reloading, monotonic_now()]);
                let r = reloader.clone();
                let _ = tokio::task::spawn_blocking(move || r.reload()).await;
                let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
            }
        });
    }
    #[cfg(not(unix))]
    let _ = reloader;
    Ok(())
}

/// `MONOTONIC_USEC=` of now, which systemd asks for beside `RELOADING=1`.
fn monotonic_now() -> sd_notify::NotifyState<'static> {
    sd_notify::NotifyState::monotonic_usec_now().unwrap_or(sd_notify::NotifyState::MonotonicUsec(0))
}

/// Installs the SIGINT and SIGTERM handlers now and returns a future that completes on
/// either; installing eagerly closes the window where a signal would kill the process.
fn stop_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
        let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
        Ok(async move {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

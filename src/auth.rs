//! Ingest tokens: where they come from, and checking one in constant time.
//!
//! The daemon accepts `SIHAI_TOKEN` and every token of `[ingest] token_file` (one a line,
//! `#` comments), so each publishing system can have its own and one can be revoked by
//! deleting its line and restarting. With neither, it creates `<data_dir>/ingest.token`
//! (mode 0600) holding a random token. Tokens are kept only as BLAKE3 hashes, compared
//! with `blake3::Hash`'s constant-time equality, and never logged.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::config::Config;

/// Tokens shorter than this are refused: they could be guessed.
pub const MIN_TOKEN_CHARS: usize = 16;
/// The environment variable holding one token.
pub const TOKEN_ENV: &str = "SIHAI_TOKEN";
/// The generated token file's name in the data directory.
pub const GENERATED_FILE: &str = "ingest.token";

/// The accepted tokens.
#[derive(Clone)]
pub struct Tokens {
    hashes: Vec<blake3::Hash>,
    /// Where they came from, for the start-up log line (never the tokens themselves).
    pub origin: String,
}

impl Tokens {
    /// The tokens the daemon accepts under `config` with its store in `data_dir`;
    /// creates the generated token file if no token is configured.
    pub fn load(config: &Config, data_dir: &Path) -> Result<Tokens, String> {
        let mut tokens = Vec::new();
        let mut origins = Vec::new();
        if let Some(t) = env_token() {
            check_length(&t, TOKEN_ENV)?;
            tokens.push(t);
            origins.push(TOKEN_ENV.to_string());
        }
        if let Some(file) = &config.ingest.token_file {
            let from_file = read_token_file(file)?;
            origins.push(format!("{} ({} token(s))", file.display(), from_file.len()));
            tokens.extend(from_file);
        }
        if tokens.is_empty() {
            let file = data_dir.join(GENERATED_FILE);
            if !file.exists() {
                create_token_file(&file)?;
                tracing::info!(
                    "created ingest token file {} (mode 0600): send its token as `Authorization: Bearer`",
                    file.display()
                );
            }
            tokens = read_token_file(&file)?;
            origins.push(file.display().to_string());
        }
        Ok(Tokens { hashes: tokens.iter().map(|t| blake3::hash(t.as_bytes())).collect(), origin: origins.join(", ") })
    }

    /// Whether `presented` is one of the tokens. Every stored hash is compared, each in
    /// constant time, so timing tells nothing about which or how much matched.
    pub fn accepts(&self, presented: &str) -> bool {
        self.identify(presented).is_some()
    }

    /// Which token `presented` is (its index: `SIHAI_TOKEN` first, then the token file's
    /// lines in order), so that limits can be kept per publishing system. Like
    /// [`Tokens::accepts`], every stored hash is compared in constant time.
    pub fn identify(&self, presented: &str) -> Option<usize> {
        let h = blake3::hash(presented.as_bytes());
        self.hashes.iter().enumerate().fold(None, |found, (i, stored)| if *stored == h { Some(i) } else { found })
    }

    /// How many tokens are accepted (the range of [`Tokens::identify`]'s indexes).
    pub fn count(&self) -> usize {
        self.hashes.len()
    }
}

/// Everything a request may authenticate with: the ingest tokens and the optional scrape
/// token of `/metrics`. Loaded together so that a reload swaps both or neither.
#[derive(Clone)]
pub struct Credentials {
    /// Tokens of the `/api` routes.
    pub ingest: Tokens,
    /// The token of `[metrics] token_file`, if set.
    pub metrics: Option<Tokens>,
    /// The token of `[stats] token_file`, if set (then the ingest tokens do not read the
    /// stats).
    pub stats: Option<Tokens>,
}

impl Credentials {
    /// The credentials `config` names (see [`Tokens::load`]).
    pub fn load(config: &Config, data_dir: &Path) -> Result<Credentials, String> {
        let ingest = Tokens::load(config, data_dir)?;
        let metrics = optional_file(config.metrics.token_file.as_deref(), "[metrics] token_file")?;
        let stats = optional_file(config.stats.token_file.as_deref(), "[stats] token_file")?;
        Ok(Credentials { ingest, metrics, stats })
    }
}

/// The tokens of an optional token file (`key` names it in messages).
fn optional_file(file: Option<&Path>, key: &str) -> Result<Option<Tokens>, String> {
    let Some(file) = file else { return Ok(None) };
    let tokens = read_token_file(file).map_err(|e| format!("{key}: {e}"))?;
    let hashes = tokens.iter().map(|t| blake3::hash(t.as_bytes())).collect();
    Ok(Some(Tokens { hashes, origin: file.display().to_string() }))
}

fn env_token() -> Option<String> {
    std::env::var(TOKEN_ENV).ok().map(|t| t.trim().to_string()).filter(|t| !t.is_empty())
}

fn check_length(token: &str, origin: &str) -> Result<(), String> {
    if token.chars().count() < MIN_TOKEN_CHARS {
        return Err(format!("{origin}: token shorter than {MIN_TOKEN_CHARS} characters; use a long random token"));
    }
    Ok(())
}

/// The tokens of a token file: one a line, blank lines and `#` comments skipped.
pub fn read_token_file(path: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("token file {}: {e}", path.display()))?;
    let mut tokens = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        check_length(t, &format!("{}:{}", path.display(), i + 1))?;
        tokens.push(t.to_string());
    }
    if tokens.is_empty() {
        return Err(format!("token file {} holds no token", path.display()));
    }
    Ok(tokens)
}

fn create_token_file(path: &Path) -> Result<(), String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness for a token: {e}"))?;
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path).map_err(|e| format!("creating {}: {e}", path.display()))?;
    writeln!(f, "# sihai ingest token, created {}\n{token}", chrono::Utc::now().format("%Y-%m-%d"))
        .and_then(|_| f.sync_all())
        .map_err(|e| format!("writing {}: {e}", path.display()))
}

/// The token a client sends: `SIHAI_TOKEN`, else the first token of `token_file`, else of
/// the config's token file, else of `<data_dir>/ingest.token`.
pub fn client_token(config: &Config, token_file: Option<&Path>) -> Result<String, String> {
    if let Some(t) = env_token() {
        return Ok(t);
    }
    let file: PathBuf = match (token_file, &config.ingest.token_file) {
        (Some(f), _) => f.to_path_buf(),
        (None, Some(f)) => f.clone(),
        (None, None) => config.server.data_dir.join(GENERATED_FILE),
    };
    read_token_file(&file)
        .map(|mut t| t.swap_remove(0))
        .map_err(|e| format!("{e}; set {TOKEN_ENV} or pass --token-file (the daemon logs where its token file is)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_files_skip_comments_and_refuse_short_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("t");
        std::fs::write(&f, "# cms\n0123456789abcdef0123\n\n  # old\nfedcba9876543210fedc\n").unwrap();
        assert_eq!(read_token_file(&f).unwrap(), vec!["0123456789abcdef0123", "fedcba9876543210fedc"]);
        std::fs::write(&f, "short\n").unwrap();
        assert!(read_token_file(&f).unwrap_err().contains(":1: token shorter than 16"));
        std::fs::write(&f, "# nothing\n").unwrap();
        assert!(read_token_file(&f).unwrap_err().contains("holds no token"));
    }

    #[test]
    fn generated_token_file_is_private_and_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("d").join(GENERATED_FILE);
        create_token_file(&f).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&f).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let token = read_token_file(&f).unwrap().remove(0);
        assert_eq!(token.len(), 64);
        let tokens = Tokens { hashes: vec![blake3::hash(token.as_bytes())], origin: String::new() };
        assert!(tokens.accepts(&token));
        assert!(!tokens.accepts(&token[..63]));
        assert!(!tokens.accepts(""));
    }

    #[test]
    fn each_token_is_identified_by_its_place() {
        let list = ["0123456789abcdef0123", "fedcba9876543210fedc", "0123456789abcdef0123"];
        let tokens =
            Tokens { hashes: list.iter().map(|t| blake3::hash(t.as_bytes())).collect(), origin: String::new() };
        assert_eq!(tokens.count(), 3);
        assert_eq!(tokens.identify("fedcba9876543210fedc"), Some(1));
        assert_eq!(tokens.identify("0123456789abcdef0123"), Some(2), "a repeated line: the last");
        assert_eq!(tokens.identify("0123456789abcdef012"), None);
        assert!(tokens.accepts("fedcba9876543210fedc") && !tokens.accepts("x"));
    }
}

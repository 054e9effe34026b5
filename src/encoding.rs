//! Content codings: gzip and br, compressing ready bytes and choosing one for a request.
//!
//! Compression happens once per render (see `publish.rs`), never per request; this module
//! holds the pure parts: the compressors with their levels, and `Accept-Encoding`
//! negotiation with q-values.

use std::io::Write;

/// gzip level: about 10 ms for a 356 KB feed of non-repeating Chinese text (criterion,
/// `bench/micro`), within a few percent of level 6's size (about 25 ms).
pub const GZIP_LEVEL: u32 = 4;
/// Brotli quality: smaller than gzip at a similar cost.
pub const BROTLI_QUALITY: u32 = 5;
/// Brotli window (log2 bytes): 512 KiB covers a full feed; a larger window only costs
/// memory per compression (22 meant a 4 MiB ring buffer per concurrent compression).
const BROTLI_WINDOW: u32 = 19;

/// A content coding sihai can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// No coding.
    Identity,
    /// `gzip`
    Gzip,
    /// `br`
    Brotli,
}

impl Encoding {
    /// The token in `Content-Encoding`.
    pub fn token(self) -> &'static str {
        match self {
            Encoding::Identity => "identity",
            Encoding::Gzip => "gzip",
            Encoding::Brotli => "br",
        }
    }

    /// The suffix this coding adds to an ETag's opaque tag (each coding has its own ETag).
    pub fn etag_suffix(self) -> &'static str {
        match self {
            Encoding::Identity => "",
            Encoding::Gzip => "-gz",
            Encoding::Brotli => "-br",
        }
    }
}

/// `bytes` in `encoding`.
pub fn compress(bytes: &[u8], encoding: Encoding) -> Vec<u8> {
    match encoding {
        Encoding::Identity => bytes.to_vec(),
        Encoding::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(
                Vec::with_capacity(bytes.len() / 2),
                flate2::Compression::new(GZIP_LEVEL),
            );
            enc.write_all(bytes).expect("writing to memory");
            enc.finish().expect("writing to memory")
        }
        Encoding::Brotli => {
            let mut out = Vec::with_capacity(bytes.len() / 2);
            {
                let mut w = brotli::CompressorWriter::new(&mut out, 64 * 1024, BROTLI_QUALITY, BROTLI_WINDOW);
                w.write_all(bytes).expect("writing to memory");
            }
            out
        }
    }
}

/// The coding to send for an `Accept-Encoding` value (RFC 9110 §12.5.3): the highest
/// q-value wins, ties go to br, then gzip, then identity; `*` covers codings not named;
/// identity is acceptable unless refused (`identity;q=0`, or `*;q=0` without naming it).
/// `None` when nothing acceptable is left (the caller answers 406).
pub fn negotiate(accept: Option<&str>) -> Option<Encoding> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else { return Some(Encoding::Identity) };
    let mut named: Vec<(String, f32)> = Vec::new();
    for part in accept.split(',') {
        let mut pieces = part.split(';');
        let coding = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
        if coding.is_empty() {
            continue;
        }
        let mut q = 1.0f32;
        for param in pieces {
            if let Some((k, v)) = param.split_once('=') {
                if k.trim().eq_ignore_ascii_case("q") {
                    q = v.trim().parse::<f32>().ok().filter(|q| (0.0..=1.0).contains(q)).unwrap_or(0.0);
                }
            }
        }
        named.push((coding, q));
    }
    let q_of = |coding: &str| -> Option<f32> {
        named.iter().find(|(c, _)| c == coding).map(|(_, q)| *q).or_else(|| {
            let star = named.iter().find(|(c, _)| c == "*").map(|(_, q)| *q);
            match coding {
                "identity" => Some(star.unwrap_or(1.0)),
                _ => star,
            }
        })
    };
    let candidates = [
        (Encoding::Brotli, q_of("br")),
        (Encoding::Gzip, q_of("gzip").or_else(|| q_of("x-gzip"))),
        (Encoding::Identity, q_of("identity")),
    ];
    let mut best: Option<(Encoding, f32)> = None;
    for (enc, q) in candidates {
        if let Some(q) = q.filter(|q| *q > 0.0) {
            if best.is_none_or(|(_, bq)| q > bq) {
                best = Some((enc, q));
            }
        }
    }
    best.map(|(e, _)| e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn negotiation_follows_q_values() {
        // Grouped by the coding chosen: the highest q wins, ties prefer br then gzip, and
        // identity is refused (406) only when nothing else is acceptable.
        let chosen = [
            (Some(Encoding::Brotli), vec!["gzip, deflate, br", "*", "*;q=0.5, gzip;q=0.4"]),
            (Some(Encoding::Gzip), vec!["gzip", "br;q=0.5, gzip", "identity;q=0, gzip;q=0.1", "GZIP;Q=1.0", "x-gzip"]),
            (Some(Encoding::Identity), vec!["", "br;q=0, gzip;q=0", "*;q=0, identity", "deflate", "gzip;q=abc"]),
            (None, vec!["identity;q=0", "*;q=0"]),
        ];
        for (want, accepts) in chosen {
            for accept in accepts {
                assert_eq!(negotiate(Some(accept)), want, "{accept:?}");
            }
        }
        assert_eq!(negotiate(None), Some(Encoding::Identity), "no Accept-Encoding");
    }

    #[test]
    fn compressed_bytes_round_trip() {
        let text = "四海资讯 <item>".repeat(500);
        let gz = compress(text.as_bytes(), Encoding::Gzip);
        let mut back = String::new();
        flate2::read::GzDecoder::new(&gz[..]).read_to_string(&mut back).unwrap();
        assert_eq!(back, text);
        let br = compress(text.as_bytes(), Encoding::Brotli);
        let mut back = Vec::new();
        brotli::Decompressor::new(&br[..], 4096).read_to_end(&mut back).unwrap();
        assert_eq!(back, text.as_bytes());
        assert!(gz.len() < text.len() / 5 && br.len() < text.len() / 5);
    }
}

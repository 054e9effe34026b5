//! The floor for sihai's HTTP numbers: a bare hyper server, with the same runtime, builder
//! and socket options as `sihai serve`, answering from two byte strings held in memory
//! with no routing, no cache lookup and no negotiation beyond "does Accept-Encoding name
//! gzip". `bench/run` runs it beside sihai and nginx on the same bytes, so its tables show
//! how much of a ratio to nginx is hyper's own and how much is sihai's.
//!
//! cargo run --release --example bare_hyper -- ADDR IDENTITY_FILE GZIP_FILE ETAG
//! ETAG is the gzip variant's; the identity variant's is ETAG with `-id` before the quote.
//! If-None-Match equal to the chosen variant's ETag answers 304.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{
    HeaderValue, ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_NONE_MATCH, VARY,
};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;

/// One representation: its bytes and its ETag.
#[derive(Clone)]
struct Variant {
    body: Bytes,
    etag: HeaderValue,
    gzip: bool,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, identity, gzip, etag] = args.as_slice() else {
        eprintln!("usage: bare_hyper ADDR IDENTITY_FILE GZIP_FILE ETAG");
        std::process::exit(2);
    };
    let read = |p: &str| Bytes::from(std::fs::read(p).unwrap_or_else(|e| panic!("{p}: {e}")));
    let id_etag = format!("{}-id\"", etag.trim_end_matches('"'));
    let variants = [
        Variant { body: read(identity), etag: HeaderValue::from_str(&id_etag).expect("an ETag"), gzip: false },
        Variant { body: read(gzip), etag: HeaderValue::from_str(etag).expect("an ETag"), gzip: true },
    ];
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr.as_str()).await.expect("bind");
        eprintln!("listening on http://{addr}/");
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let _ = stream.set_nodelay(true);
            let variants = variants.clone();
            let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                let gzip =
                    req.headers().get(ACCEPT_ENCODING).is_some_and(|v| v.as_bytes().windows(4).any(|w| w == b"gzip"));
                let v = &variants[usize::from(gzip)];
                let fresh = req.headers().get(IF_NONE_MATCH) == Some(&v.etag);
                let mut r = Response::new(Full::new(if fresh { Bytes::new() } else { v.body.clone() }));
                let h = r.headers_mut();
                if fresh {
                    *r.status_mut() = StatusCode::NOT_MODIFIED;
                } else {
                    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/rss+xml; charset=utf-8"));
                    if v.gzip {
                        h.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                    }
                }
                let h = r.headers_mut();
                h.insert(ETAG, v.etag.clone());
                h.insert(CACHE_CONTROL, HeaderValue::from_static("public, max-age=1800"));
                h.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
                async move { Ok::<_, Infallible>(r) }
            });
            tokio::spawn(async move {
                let _ = Builder::new(TokioExecutor::new()).serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
}

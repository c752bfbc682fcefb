//! The tower layer around every call: the bearer token and its scope ([`crate::auth`]), the rate limit per
//! credential, the overall concurrency limit, the caller's deadline, metrics, and logging (writes one line each
//! at info; reads at debug, summarised at info once a minute by the server).
//!
//! Malformed protobuf, which tonic answers INTERNAL, is answered INVALID_ARGUMENT here (the contract keeps
//! INTERNAL for bugs).
//!
//! tonic's own `grpc-timeout` handling answers CANCELLED ("Timeout expired"); the gRPC convention is
//! DEADLINE_EXCEEDED, so this layer, which runs inside tonic's, applies the caller's deadline a little earlier
//! ([`DEADLINE_MARGIN`]) and answers DEADLINE_EXCEEDED. Dropping the handler's future sets its cancel flag,
//! which stops blocking work (parameter draws) on the worker threads.
//!
//! The status logged is the one in the response headers (errors are trailers-only responses); a response
//! without one is OK as far as the headers go (for a server stream: it started).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::auth::Tokens;
use crate::metrics::Metrics;

use http::{HeaderValue, Request, Response};
use tonic::{Code, Status};
use tower::{Layer, Service};

/// The deadline is applied this much before the caller's `grpc-timeout`, so that this layer answers before
/// tonic's own timer does.
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(2);

/// What the layer shares between calls.
#[derive(Debug)]
pub struct Guard {
    tokens: Tokens,
    slots: Arc<tokio::sync::Semaphore>,
    rate: Option<(f64, f64)>,
    buckets: Mutex<HashMap<Arc<str>, (f64, Instant)>>,
    /// The caller's name when no token is configured or the method needs none.
    anonymous: Arc<str>,
    /// The metrics recorded.
    pub metrics: Arc<Metrics>,
}

impl Guard {
    /// From the config.
    pub fn new(config: &crate::Config, metrics: Arc<Metrics>) -> Guard {
        Guard {
            tokens: Tokens::new(&config.tokens),
            slots: Arc::new(tokio::sync::Semaphore::new(config.max_concurrency)),
            rate: (config.rate_per_second > 0).then(|| {
                (
                    f64::from(config.rate_per_second),
                    f64::from(config.rate_burst.max(1)),
                )
            }),
            buckets: Mutex::new(HashMap::new()),
            anonymous: Arc::from("anonymous"),
            metrics,
        }
    }

    /// Take one call from the credential's token bucket (no allocation once the credential has a bucket).
    fn take(&self, who: &Arc<str>) -> bool {
        let Some((rate, burst)) = self.rate else {
            return true;
        };
        let mut b = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if b.len() > 10_000 {
            b.clear();
        }
        let now = Instant::now();
        if !b.contains_key(&**who) {
            b.insert(who.clone(), (burst, now));
        }
        let Some((level, at)) = b.get_mut(&**who) else {
            return true;
        };
        *level = (*level + now.duration_since(*at).as_secs_f64() * rate).min(burst);
        *at = now;
        if *level >= 1.0 {
            *level -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Checks the token, limits, applies the deadline, records and logs each call.
#[derive(Debug, Clone)]
pub struct CallLayer {
    guard: Arc<Guard>,
}

impl CallLayer {
    /// A layer sharing `guard`.
    pub fn new(guard: Arc<Guard>) -> CallLayer {
        CallLayer { guard }
    }
}

impl Default for CallLayer {
    fn default() -> Self {
        CallLayer::new(Arc::new(Guard::new(&crate::Config::default(), Arc::default())))
    }
}

impl<S> Layer<S> for CallLayer {
    type Service = CallService<S>;
    fn layer(&self, inner: S) -> CallService<S> {
        CallService {
            inner,
            guard: self.guard.clone(),
        }
    }
}

/// The service of [`CallLayer`].
#[derive(Debug, Clone)]
pub struct CallService<S> {
    inner: S,
    guard: Arc<Guard>,
}

/// Parse a `grpc-timeout` header value (`<digits><unit>`, unit one of H M S m u n).
pub fn parse_grpc_timeout(v: &HeaderValue) -> Option<Duration> {
    let s = v.to_str().ok()?;
    if s.len() < 2 || s.len() > 9 {
        return None;
    }
    let (digits, unit) = s.split_at(s.len() - 1);
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// The name of a status code as metrics and logs show it (`Code`'s variant name).
pub fn code_name(c: Code) -> &'static str {
    match c {
        Code::Ok => "Ok",
        Code::Cancelled => "Cancelled",
        Code::Unknown => "Unknown",
        Code::InvalidArgument => "InvalidArgument",
        Code::DeadlineExceeded => "DeadlineExceeded",
        Code::NotFound => "NotFound",
        Code::AlreadyExists => "AlreadyExists",
        Code::PermissionDenied => "PermissionDenied",
        Code::ResourceExhausted => "ResourceExhausted",
        Code::FailedPrecondition => "FailedPrecondition",
        Code::Aborted => "Aborted",
        Code::OutOfRange => "OutOfRange",
        Code::Unimplemented => "Unimplemented",
        Code::Internal => "Internal",
        Code::Unavailable => "Unavailable",
        Code::DataLoss => "DataLoss",
        Code::Unauthenticated => "Unauthenticated",
    }
}

fn status_of<B>(resp: &Response<B>) -> Code {
    resp.headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.parse::<i32>().ok())
        .map_or(Code::Ok, Code::from_i32)
}

impl<S, B, RB> Service<Request<B>> for CallService<S>
where
    S: Service<Request<B>, Response = Response<RB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
    RB: Default + Send + 'static,
{
    type Response = Response<RB>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<RB>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let method = req.uri().path().to_owned();
        let guard = self.guard.clone();
        let who = match guard.tokens.check(
            &method,
            req.headers().get("authorization").map(HeaderValue::as_bytes),
        ) {
            Ok(who) => who,
            Err(e) => {
                let code = Status::from(e);
                guard.metrics.record(&method, code_name(code.code()), 0.0);
                tracing::info!(target: "pf_server::call", method = %method, status = code_name(code.code()), "refused");
                return Box::pin(async move { Ok(code.into_http()) });
            }
        };
        let who = who.unwrap_or_else(|| guard.anonymous.clone());
        if !guard.take(&who) {
            let e = crate::error::status(
                Code::ResourceExhausted,
                format!("rate limit: credential `{who}` is over the server's rate_per_second"),
                "RATE_LIMITED",
                HashMap::from([("limit".to_owned(), "rate_per_second".to_owned())]),
                None,
            );
            guard.metrics.record(&method, "ResourceExhausted", 0.0);
            return Box::pin(async move { Ok(e.into_http()) });
        }
        let write = crate::auth::is_write(&method);
        let deadline = req.headers().get("grpc-timeout").and_then(parse_grpc_timeout);
        let start = Instant::now();
        // The deadline is fixed now, when tonic has just started its own `grpc-timeout` timer, not when the
        // future below is first polled: on a busy machine that poll can come milliseconds later, and tonic's
        // timer would then fire first and answer CANCELLED.
        let deadline = deadline.map(|d| (d, tokio::time::Instant::now() + d.saturating_sub(DEADLINE_MARGIN)));
        // The usual tower dance: call the clone that was made ready.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let slots = guard.slots.clone();
        Box::pin(async move {
            let _permit = slots.acquire_owned().await;
            let _in_flight = InFlight::new(guard.metrics.clone());
            let fut = inner.call(req);
            let result = match deadline {
                Some((d, at)) => match tokio::time::timeout_at(at, fut).await {
                    Ok(r) => r,
                    Err(_) => Ok(Status::from(crate::error::ServerError::DeadlineExceeded(d)).into_http()),
                },
                None => fut.await,
            };
            let result = result.map(remap_size_errors).map(remap_decode_errors);
            let elapsed = start.elapsed();
            let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
            // A name, not a `format!`: nothing is allocated for the status on the way out.
            let status = match &result {
                Ok(resp) => code_name(status_of(resp)),
                Err(_) => "TransportError",
            };
            guard.metrics.record(&method, status, elapsed.as_secs_f64());
            if write {
                tracing::info!(target: "pf_server::call", method = %method, who = %who, status = %status, duration_us = micros, "call");
            } else {
                guard
                    .metrics
                    .reads
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::debug!(target: "pf_server::call", method = %method, who = %who, status = %status, duration_us = micros, "call");
            }
            result
        })
    }
}

/// Rewrite tonic's OUT_OF_RANGE for oversize messages to RESOURCE_EXHAUSTED.
fn remap_size_errors<B>(mut resp: Response<B>) -> Response<B> {
    let oversize = resp.headers().get("grpc-status").is_some_and(|v| v == "11")
        && resp
            .headers()
            .get("grpc-message")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|m| m.contains("too%20large") || m.contains("too large"));
    if oversize {
        resp.headers_mut()
            .insert("grpc-status", HeaderValue::from_static("8"));
    }
    resp
}

/// Counts a call in flight while it lives.
struct InFlight(Arc<Metrics>);

impl InFlight {
    fn new(m: Arc<Metrics>) -> InFlight {
        m.in_flight.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        InFlight(m)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0
            .in_flight
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Rewrite tonic's INTERNAL for a request that is not valid protobuf to INVALID_ARGUMENT.
fn remap_decode_errors<B>(resp: Response<B>) -> Response<B> {
    let malformed = resp.headers().get("grpc-status").is_some_and(|v| v == "13")
        && resp
            .headers()
            .get("grpc-message")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|m| m.starts_with("failed%20to%20decode") || m.starts_with("failed to decode"));
    if !malformed {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let status = crate::error::status(
        Code::InvalidArgument,
        "malformed request: expected a protobuf message of the method's request type",
        "MALFORMED_REQUEST",
        HashMap::new(),
        None,
    );
    let fresh = status.into_http::<()>();
    for name in ["grpc-status", "grpc-message", "grpc-status-details-bin"] {
        parts.headers.remove(name);
        if let Some(v) = fresh.headers().get(name) {
            parts.headers.insert(name, v.clone());
        }
    }
    Response::from_parts(parts, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_timeouts() {
        assert_eq!(
            parse_grpc_timeout(&HeaderValue::from_static("100m")),
            Some(Duration::from_millis(100))
        );
        assert_eq!(
            parse_grpc_timeout(&HeaderValue::from_static("2S")),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            parse_grpc_timeout(&HeaderValue::from_static("5u")),
            Some(Duration::from_micros(5))
        );
        assert_eq!(parse_grpc_timeout(&HeaderValue::from_static("x")), None);
        assert_eq!(parse_grpc_timeout(&HeaderValue::from_static("10x")), None);
    }
}

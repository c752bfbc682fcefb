//! The tower layer around every call: one log line per call (method, status, duration) and the caller's deadline.
//!
//! tonic's own `grpc-timeout` handling answers CANCELLED ("Timeout expired"); the gRPC convention is
//! DEADLINE_EXCEEDED, so this layer, which runs inside tonic's, applies the caller's deadline a little earlier
//! ([`DEADLINE_MARGIN`]) and answers DEADLINE_EXCEEDED. Dropping the handler's future sets its cancel flag,
//! which stops blocking work (parameter draws) on the worker threads.
//!
//! The status logged is the one in the response headers (errors are trailers-only responses); a response
//! without one is OK as far as the headers go (for a server stream: it started).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::{HeaderValue, Request, Response};
use tonic::{Code, Status};
use tower::{Layer, Service};

/// The deadline is applied this much before the caller's `grpc-timeout`, so that this layer answers before
/// tonic's own timer does.
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(2);

/// Logs each call and applies its deadline.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallLayer;

impl<S> Layer<S> for CallLayer {
    type Service = CallService<S>;
    fn layer(&self, inner: S) -> CallService<S> {
        CallService { inner }
    }
}

/// The service of [`CallLayer`].
#[derive(Debug, Clone)]
pub struct CallService<S> {
    inner: S,
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
        let deadline = req.headers().get("grpc-timeout").and_then(parse_grpc_timeout);
        let start = Instant::now();
        // The deadline is fixed now, when tonic has just started its own `grpc-timeout` timer, not when the
        // future below is first polled: on a busy machine that poll can come milliseconds later, and tonic's
        // timer would then fire first and answer CANCELLED.
        let deadline = deadline.map(|d| (d, tokio::time::Instant::now() + d.saturating_sub(DEADLINE_MARGIN)));
        // The usual tower dance: call the clone that was made ready.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let fut = inner.call(req);
        Box::pin(async move {
            let result = match deadline {
                Some((d, at)) => match tokio::time::timeout_at(at, fut).await {
                    Ok(r) => r,
                    Err(_) => Ok(Status::from(crate::error::ServerError::DeadlineExceeded(d)).into_http()),
                },
                None => fut.await,
            };
            let result = result.map(remap_size_errors);
            let micros = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
            match &result {
                Ok(resp) => {
                    let code = status_of(resp);
                    tracing::info!(target: "pf_server::call", method = %method, status = ?code, duration_us = micros, "call");
                }
                Err(_) => {
                    tracing::info!(target: "pf_server::call", method = %method, status = "transport error", duration_us = micros, "call");
                }
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

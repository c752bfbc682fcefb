//! Bearer tokens with scopes, checked once per call by [`crate::layer::CallLayer`].
//!
//! The config holds each token's name, the hex SHA-256 of the token, and its scopes; the server never holds a
//! token itself. A caller sends `authorization: Bearer <token>`. Scopes nest: `admin` (DeleteCase,
//! ImportEvents) includes `write` (CreateCase, UpdateCase, AppendSignals, RetractSignal), which includes `read`
//! (every other method, reflection included). The health service needs no token (probes).
//!
//! Tokens must have at least [`MIN_TOKEN_CHARS`] characters; [`new_token`] makes one from 32 random bytes.

use std::collections::HashMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::config::TokenConfig;
use crate::error::ServerError;

/// Shortest token accepted (a token of 32 random bytes in base64url has 43 characters).
pub const MIN_TOKEN_CHARS: usize = 32;

/// What a call may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// Read cases and forecasts.
    Read,
    /// Create and change cases.
    Write,
    /// Delete cases and import event data.
    Admin,
}

impl Scope {
    fn parse(s: &str) -> Option<Scope> {
        match s {
            "read" => Some(Scope::Read),
            "write" => Some(Scope::Write),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }

    /// The scope's name in the config.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Admin => "admin",
        }
    }
}

/// The scope a method needs (`/package.Service/Method`), or `None` for the health service.
pub fn scope_of(path: &str) -> Option<Scope> {
    if path.starts_with("/grpc.health.v1.Health/") {
        return None;
    }
    let method = path.rsplit('/').next().unwrap_or_default();
    Some(match method {
        "DeleteCase" | "ImportEvents" => Scope::Admin,
        "CreateCase" | "UpdateCase" | "AppendSignals" | "RetractSignal" => Scope::Write,
        _ => Scope::Read,
    })
}

/// Whether a method writes (for logging: writes are always logged).
pub fn is_write(path: &str) -> bool {
    matches!(scope_of(path), Some(Scope::Write | Scope::Admin))
}

/// Check one configured token.
///
/// # Errors
/// What is wrong with it, for [`crate::config::ConfigError::Value`].
pub fn check_token_config(t: &TokenConfig) -> Result<(), String> {
    if t.name.trim().is_empty() {
        return Err("a token without a name".into());
    }
    if t.sha256.len() != 64 || !t.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("token `{}`: sha256 is not 64 hex digits", t.name));
    }
    if t.scopes.is_empty() {
        return Err(format!("token `{}`: no scopes", t.name));
    }
    if let Some(s) = t.scopes.iter().find(|s| Scope::parse(s).is_none()) {
        return Err(format!("token `{}`: unknown scope `{s}`", t.name));
    }
    Ok(())
}

/// Lower-case hex of the SHA-256 of `token`: what the config holds.
pub fn token_hash(token: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(64);
    for b in Sha256::digest(token.as_bytes()) {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    out
}

/// The 32 bytes of a 64-digit hex SHA-256 (either case); `None` for anything else.
fn hash_bytes(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let digit = |c: u8| char::from(c).to_digit(16).and_then(|d| u8::try_from(d).ok());
    let mut out = [0u8; 32];
    for (i, pair) in hex.chunks_exact(2).enumerate() {
        out[i] = (digit(pair[0])? << 4) | digit(pair[1])?;
    }
    Some(out)
}

/// A new token: 32 random bytes from the operating system, base64url without padding (43 characters).
///
/// # Errors
/// The operating system's random source failing.
pub fn new_token() -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(43);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    Ok(out)
}

/// The configured tokens, by the bytes of their SHA-256.
///
/// A call costs one SHA-256 of the presented token (about 0.3 µs for a 43-character token) and one lookup: no
/// formatting, and the caller's name comes back as a shared `Arc<str>` (no copy per call).
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    by_hash: HashMap<[u8; 32], (Arc<str>, Scope)>,
}

impl Tokens {
    /// From the config (already checked by [`check_token_config`]; an entry whose hash is not 64 hex digits
    /// matches no token).
    pub fn new(configured: &[TokenConfig]) -> Tokens {
        let by_hash = configured
            .iter()
            .filter_map(|t| {
                let top = t
                    .scopes
                    .iter()
                    .filter_map(|s| Scope::parse(s))
                    .max()
                    .unwrap_or(Scope::Read);
                Some((hash_bytes(&t.sha256)?, (Arc::from(t.name.as_str()), top)))
            })
            .collect();
        Tokens { by_hash }
    }

    /// Whether tokens are required.
    pub fn enabled(&self) -> bool {
        !self.by_hash.is_empty()
    }

    /// The name of the caller's token when it may call `path`; `None` when no tokens are configured or the
    /// method needs none.
    ///
    /// # Errors
    /// [`ServerError::Unauthenticated`] without a valid token, [`ServerError::PermissionDenied`] without the
    /// scope.
    pub fn check(&self, path: &str, authorization: Option<&[u8]>) -> Result<Option<Arc<str>>, ServerError> {
        if !self.enabled() {
            return Ok(None);
        }
        let Some(need) = scope_of(path) else {
            return Ok(None);
        };
        let Some(value) = authorization else {
            return Err(ServerError::Unauthenticated(
                "no `authorization` metadata: expected `Bearer <token>`".into(),
            ));
        };
        let token = std::str::from_utf8(value)
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                ServerError::Unauthenticated(
                    "malformed `authorization` metadata: expected `Bearer <token>`".into(),
                )
            })?;
        if token.len() < MIN_TOKEN_CHARS {
            return Err(ServerError::Unauthenticated(format!(
                "invalid token: expected at least {MIN_TOKEN_CHARS} characters"
            )));
        }
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let Some((name, scope)) = self.by_hash.get(&digest) else {
            return Err(ServerError::Unauthenticated(
                "unknown token: expected a configured token".into(),
            ));
        };
        if *scope < need {
            return Err(ServerError::PermissionDenied {
                method: path.rsplit('/').next().unwrap_or_default().to_owned(),
                scope: need.name(),
                token: name.to_string(),
            });
        }
        Ok(Some(name.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_nest() {
        let t = new_token().unwrap();
        assert_eq!(t.len(), 43);
        let tokens = Tokens::new(&[TokenConfig {
            name: "reader".into(),
            sha256: token_hash(&t),
            scopes: vec!["read".into()],
        }]);
        let auth = format!("Bearer {t}");
        let p = "/pressureforecast.v1.ForecastService/";
        assert!(
            tokens
                .check(&format!("{p}GetCase"), Some(auth.as_bytes()))
                .is_ok()
        );
        assert!(matches!(
            tokens.check(&format!("{p}AppendSignals"), Some(auth.as_bytes())),
            Err(ServerError::PermissionDenied { .. })
        ));
        assert!(matches!(
            tokens.check(&format!("{p}GetCase"), None),
            Err(ServerError::Unauthenticated(_))
        ));
        assert!(tokens.check("/grpc.health.v1.Health/Check", None).is_ok());
        // Upper-case hex in the config matches too.
        let upper = Tokens::new(&[TokenConfig {
            name: "reader".into(),
            sha256: token_hash(&t).to_ascii_uppercase(),
            scopes: vec!["read".into()],
        }]);
        assert_eq!(
            upper
                .check(&format!("{p}GetCase"), Some(auth.as_bytes()))
                .unwrap()
                .as_deref(),
            Some("reader")
        );
    }

    #[test]
    fn hashes_in_hex() {
        // SHA-256 of the empty string and of "abc" (FIPS 180-2 examples).
        assert_eq!(
            token_hash(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(hash_bytes(&token_hash("abc")).unwrap()[..2], [0xba, 0x78]);
        assert_eq!(hash_bytes("xy"), None);
        assert_eq!(hash_bytes(&"g".repeat(64)), None);
    }
}

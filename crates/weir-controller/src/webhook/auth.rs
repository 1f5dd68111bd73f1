//! Does a request prove it knows the pipeline's secret? Pure, and constant-time wherever
//! the secret is compared.

use axum::http::HeaderMap;
use base64::Engine;
use hmac::{KeyInit, Mac};
use subtle::ConstantTimeEq;

use super::{HookKey, WebhookAuth};

/// The header of [`WebhookAuth::Signature`]: `sha256=<hex of HMAC-SHA256(secret, body)>`.
pub const SIGNATURE_HEADER: &str = "x-weir-signature";

/// Why a request is refused (both are 401; the metric tells them apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthError {
    /// No signature or token at all.
    Missing,
    /// A signature or token that does not match.
    Bad,
}

/// Checks the request against `key`: the signature header for `Signature`, else a bearer
/// token, a Basic password or a `token` query parameter.
pub fn verify(
    key: &HookKey,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Result<(), AuthError> {
    match key.auth {
        WebhookAuth::Signature => verify_signature(&key.secret, headers, body),
        WebhookAuth::Token => verify_token(&key.secret, headers, query),
    }
}

fn verify_signature(secret: &[u8], headers: &HeaderMap, body: &[u8]) -> Result<(), AuthError> {
    let value = headers.get(SIGNATURE_HEADER).ok_or(AuthError::Missing)?;
    let hex = value
        .to_str()
        .ok()
        .and_then(|v| v.trim().strip_prefix("sha256="))
        .ok_or(AuthError::Bad)?;
    let given = decode_hex(hex).ok_or(AuthError::Bad)?;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).map_err(|_| AuthError::Bad)?;
    mac.update(body);
    // `verify_slice` compares in constant time.
    mac.verify_slice(&given).map_err(|_| AuthError::Bad)
}

fn verify_token(secret: &[u8], headers: &HeaderMap, query: Option<&str>) -> Result<(), AuthError> {
    let presented = presented_token(headers, query).ok_or(AuthError::Missing)?;
    if bool::from(presented.as_slice().ct_eq(secret)) {
        Ok(())
    } else {
        Err(AuthError::Bad)
    }
}

/// The token a request carries: `Authorization: Bearer`, the password of
/// `Authorization: Basic`, or the `token` query parameter, in that order.
fn presented_token(headers: &HeaderMap, query: Option<&str>) -> Option<Vec<u8>> {
    if let Some(value) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, rest) = value.trim().split_once(' ')?;
        if scheme.eq_ignore_ascii_case("bearer") {
            return Some(rest.trim().as_bytes().to_vec());
        }
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest.trim())
                .ok()?;
            let colon = decoded.iter().position(|b| *b == b':')?;
            return Some(decoded[colon + 1..].to_vec());
        }
        return None;
    }
    let query = query?;
    query.split('&').find_map(|pair| {
        let value = pair.strip_prefix("token=")?;
        let plus = value.replace('+', " ");
        Some(percent_encoding::percent_decode_str(&plus).collect())
    })
}

/// The signature a sender computes: `sha256=` and the lowercase hex HMAC-SHA256 of the
/// body keyed with the secret. For tests, and for documentation by example.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret) else {
        // HMAC takes keys of any length; this branch cannot be reached.
        return String::new();
    };
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut out = String::from("sha256=");
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn key(auth: WebhookAuth) -> HookKey {
        HookKey {
            secret: b"s3cr3t-value".to_vec(),
            auth,
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn signatures_are_hmac_sha256_as_rfc_4231_defines_it() {
        // RFC 4231, test case 2.
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_signature_of_the_exact_body_passes_and_anything_else_fails() {
        let k = key(WebhookAuth::Signature);
        let body = br#"{"Records":[]}"#;
        let good = sign(&k.secret, body);
        assert!(good.starts_with("sha256=") && good.len() == 7 + 64);
        assert_eq!(
            verify(&k, &headers(&[(SIGNATURE_HEADER, &good)]), None, body),
            Ok(())
        );
        let upper = format!("sha256={}", good[7..].to_uppercase());
        assert_eq!(
            verify(&k, &headers(&[(SIGNATURE_HEADER, &upper)]), None, body),
            Ok(())
        );
        assert_eq!(
            verify(&k, &HeaderMap::new(), None, body),
            Err(AuthError::Missing)
        );
        let cases = [
            sign(&k.secret, b"{\"Records\":[ ]}"),
            sign(b"other", body),
            good[7..].to_string(),
            "sha256=zz".to_string(),
            "sha256=abc".to_string(),
            "sha1=0000".to_string(),
        ];
        for sig in cases {
            let got = verify(&k, &headers(&[(SIGNATURE_HEADER, &sig)]), None, body);
            assert_eq!(got, Err(AuthError::Bad), "{sig}");
        }
        // A bearer token is no signature.
        let bearer = headers(&[("authorization", "Bearer s3cr3t-value")]);
        assert_eq!(verify(&k, &bearer, None, body), Err(AuthError::Missing));
    }

    #[test]
    fn tokens_pass_as_bearer_basic_password_or_query() {
        let k = key(WebhookAuth::Token);
        let basic = base64::engine::general_purpose::STANDARD.encode("sns:s3cr3t-value");
        let ok = [
            (headers(&[("authorization", "Bearer s3cr3t-value")]), None),
            (
                headers(&[("authorization", &format!("Basic {basic}"))]),
                None,
            ),
            (HeaderMap::new(), Some("a=1&token=s3cr3t%2Dvalue")),
        ];
        for (h, q) in &ok {
            assert_eq!(verify(&k, h, *q, b""), Ok(()), "{h:?} {q:?}");
        }
        let wrong_basic = base64::engine::general_purpose::STANDARD.encode("s3cr3t-value:");
        let bad = [
            (headers(&[("authorization", "Bearer s3cr3t-valu")]), None),
            (headers(&[("authorization", "Bearer s3cr3t-value2")]), None),
            (
                headers(&[("authorization", &format!("Basic {wrong_basic}"))]),
                None,
            ),
            (headers(&[("authorization", "Digest s3cr3t-value")]), None),
            (HeaderMap::new(), Some("token=nope")),
        ];
        for (h, q) in &bad {
            assert!(verify(&k, h, *q, b"").is_err(), "{h:?} {q:?}");
        }
        assert_eq!(
            verify(&k, &HeaderMap::new(), Some("a=1"), b""),
            Err(AuthError::Missing)
        );
        // The signature header alone is not a token.
        let sig = sign(&k.secret, b"");
        let got = verify(&k, &headers(&[(SIGNATURE_HEADER, &sig)]), None, b"");
        assert_eq!(got, Err(AuthError::Missing));
    }
}

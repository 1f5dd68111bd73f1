//! Sending JSON API requests: the token, retries of transient failures, errors that name
//! the URI.

use std::time::Duration;

use reqwest::{RequestBuilder, Response, StatusCode};
use serde::Deserialize;

use super::GcsStore;
use crate::{Error, Result, Store};

/// Tries per request that can be repeated; the waits between them grow 4× from this.
const ATTEMPTS: u32 = 4;
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(100);

impl GcsStore {
    /// Sends with a token, retrying transient failures (a lost connection, 408, 429, 5xx)
    /// with backoff: for requests that can be repeated safely, which is every call here but
    /// a resumable upload's chunks (see [`GcsStore::send_once`]). A non-success answer (other
    /// than `ok_also`) becomes an error.
    pub(super) async fn send(
        &self,
        key: &str,
        request: RequestBuilder,
        ok_also: &[u16],
    ) -> Result<Response> {
        let mut delay = FIRST_RETRY_DELAY;
        for _ in 1..ATTEMPTS {
            // A streaming body cannot be cloned, and so cannot be sent twice.
            let Some(again) = request.try_clone() else {
                break;
            };
            match self.send_once(key, again, ok_also).await {
                Err(Attempt::Transient(e)) => {
                    tracing::debug!(error = %e, "retrying a GCS request");
                    tokio::time::sleep(delay).await;
                    delay *= 4;
                }
                other => return other.map_err(Attempt::into_error),
            }
        }
        self.send_once(key, request, ok_also)
            .await
            .map_err(Attempt::into_error)
    }

    /// One try. A resumable upload's chunk goes through this alone: after a lost connection
    /// the server may hold part of it, and sending it again blindly could be refused.
    pub(super) async fn send_once(
        &self,
        key: &str,
        request: RequestBuilder,
        ok_also: &[u16],
    ) -> std::result::Result<Response, Attempt> {
        let request = match &self.tokens {
            Some(tokens) => {
                let token = tokens.token().await.map_err(|e| {
                    Attempt::Final(Error::Backend {
                        uri: self.uri(key).to_string(),
                        message: format!("GCS access token: {e}"),
                    })
                })?;
                request.header(reqwest::header::AUTHORIZATION, token)
            }
            None => request,
        };
        let response = request
            .send()
            .await
            .map_err(|e| Attempt::Transient(self.transport(key, &e)))?;
        let status = response.status();
        if status.is_success() || ok_also.contains(&status.as_u16()) {
            return Ok(response);
        }
        let body = response.text().await.unwrap_or_default();
        let err = self.status_error(key, status, &body);
        if matches!(status.as_u16(), 408 | 429) || status.is_server_error() {
            Err(Attempt::Transient(err))
        } else {
            Err(Attempt::Final(err))
        }
    }

    pub(super) fn transport(&self, key: &str, err: &reqwest::Error) -> Error {
        Error::Backend {
            uri: self.uri(key).to_string(),
            message: crate::error::chain(err),
        }
    }

    fn status_error(&self, key: &str, status: StatusCode, body: &str) -> Error {
        let uri = self.uri(key).to_string();
        let message = error_message(status, body);
        match status.as_u16() {
            404 => Error::NotFound { uri },
            401 | 403 => Error::PermissionDenied { uri, message },
            _ => Error::Backend { uri, message },
        }
    }

    pub(super) async fn json<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
        response: Response,
    ) -> Result<T> {
        let body = response
            .bytes()
            .await
            .map_err(|e| self.transport(key, &e))?;
        serde_json::from_slice(&body).map_err(|e| Error::Backend {
            uri: self.uri(key).to_string(),
            message: format!("unexpected answer from GCS: {e}"),
        })
    }
}

/// How one try of a request failed.
pub(super) enum Attempt {
    /// Worth another try (a lost connection, 408, 429, 5xx).
    Transient(Error),
    /// Not worth another (4xx, no token).
    Final(Error),
}

impl Attempt {
    pub(super) fn into_error(self) -> Error {
        match self {
            Attempt::Transient(e) | Attempt::Final(e) => e,
        }
    }
}

/// The `error.message` of a JSON API error, else the start of the body.
fn error_message(status: StatusCode, body: &str) -> String {
    #[derive(Deserialize)]
    struct Wrapper {
        error: Inner,
    }
    #[derive(Deserialize)]
    struct Inner {
        message: String,
    }
    let detail = serde_json::from_str::<Wrapper>(body)
        .map(|w| w.error.message)
        .unwrap_or_else(|_| body.chars().take(200).collect());
    let detail = detail.split_whitespace().collect::<Vec<_>>().join(" ");
    if detail.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {detail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_are_one_line() {
        let body = r#"{"error":{"code":403,"message":"no\n access"}}"#;
        assert_eq!(
            error_message(StatusCode::FORBIDDEN, body),
            "HTTP 403 Forbidden: no access"
        );
        assert_eq!(
            error_message(StatusCode::BAD_GATEWAY, ""),
            "HTTP 502 Bad Gateway"
        );
    }
}

//! GCS retries transient failures. The emulator cannot be made to fail, so a scripted HTTP
//! server on loopback answers instead (one response per connection).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use weir_blob::{BlobUri, Error, GcsCredentials, GcsOptions, Options};

/// Serves `answers` in turn (the last one forever); returns the endpoint and a request count.
async fn scripted(answers: Vec<&'static str>) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut conn, _)) = listener.accept().await else {
                return;
            };
            let n = seen.fetch_add(1, Ordering::SeqCst);
            let answer = answers[n.min(answers.len() - 1)];
            // Read the request head (these requests have no body), then answer and close.
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.ends_with(b"\r\n\r\n") {
                match conn.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(k) => head.extend_from_slice(&buf[..k]),
                }
            }
            let _ = conn.write_all(answer.as_bytes()).await;
        }
    });
    (endpoint, count)
}

const UNAVAILABLE: &str =
    "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
const OBJECT: &str = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 40\r\n\
                      connection: close\r\n\r\n{\"name\":\"k\",\"size\":\"3\",\"generation\":\"1\"}";
const FORBIDDEN: &str = "HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";

async fn store(endpoint: String) -> Box<dyn weir_blob::Store> {
    let options = Options {
        gcs: GcsOptions {
            endpoint: Some(endpoint),
            credentials: GcsCredentials::Anonymous,
        },
        ..Options::default()
    };
    weir_blob::open(&BlobUri::parse("gs://b/").unwrap(), &options)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_503_is_tried_again() {
    let (endpoint, count) = scripted(vec![UNAVAILABLE, UNAVAILABLE, OBJECT]).await;
    let meta = store(endpoint).await.head("k").await.unwrap();
    assert_eq!((meta.size, count.load(Ordering::SeqCst)), (3, 3));
}

#[tokio::test]
async fn retries_end_with_the_last_error() {
    let (endpoint, count) = scripted(vec![UNAVAILABLE]).await;
    let err = store(endpoint).await.head("k").await.unwrap_err();
    assert!(matches!(err, Error::Backend { .. }), "{err}");
    assert_eq!(err.to_string(), "gs://b/k: HTTP 503 Service Unavailable");
    assert_eq!(count.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn a_403_is_not_tried_again() {
    let (endpoint, count) = scripted(vec![FORBIDDEN, OBJECT]).await;
    let err = store(endpoint).await.head("k").await.unwrap_err();
    assert!(matches!(err, Error::PermissionDenied { .. }), "{err}");
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

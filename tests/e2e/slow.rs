//! Slow and silent clients: each connection deadline and the connection cap,
//! shown with clients that trickle bytes over raw TCP.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::Api;

async fn connect(api: &Api) -> TcpStream {
    let address = api.server.base.trim_start_matches("http://").to_owned();
    TcpStream::connect(address).await.unwrap()
}

/// Reads until the server closes the connection (or `within` passes); returns
/// what it sent and how long that took.
async fn until_closed(stream: &mut TcpStream, within: Duration) -> Option<(String, Duration)> {
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = within.checked_sub(started.elapsed())?;
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => {
                return Some((
                    String::from_utf8_lossy(&got).into_owned(),
                    started.elapsed(),
                ));
            }
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// Sends one byte every `every` until a write fails (at most 100).
fn trickle(
    mut writer: tokio::net::tcp::OwnedWriteHalf,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        for _ in 0..100 {
            tokio::time::sleep(every).await;
            if writer.write_all(b"x").await.is_err() {
                return;
            }
        }
    })
}

#[tokio::test]
async fn a_trickled_or_missing_request_head_is_cut_off_at_the_header_timeout() {
    let api = Api::start_with(&["--header-read-timeout-ms", "1000"]).await;
    // A head begun and then trickled a byte every 200 ms.
    let stream = connect(&api).await;
    let (mut reader, mut writer) = stream.into_split();
    writer
        .write_all(b"POST /graphql HTTP/1.1\r\nHost: keywarden\r\nX-Slow: ")
        .await
        .unwrap();
    let trickling = trickle(writer, Duration::from_millis(200));
    let started = Instant::now();
    let mut buf = [0u8; 64];
    let closed = tokio::time::timeout(Duration::from_secs(5), reader.read(&mut buf)).await;
    assert!(matches!(closed, Ok(Ok(0)) | Ok(Err(_))), "{closed:?}");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_secs(4),
        "{took:?}"
    );
    trickling.abort();

    // A connection that says nothing at all.
    let mut silent = connect(&api).await;
    let (_, took) = until_closed(&mut silent, Duration::from_secs(5))
        .await
        .expect("a silent connection is closed");
    assert!(took < Duration::from_secs(4), "{took:?}");
}

#[tokio::test]
async fn a_trickled_body_gets_408_at_the_body_timeout() {
    let api = Api::start_with(&["--body-read-timeout-ms", "1000"]).await;
    let stream = connect(&api).await;
    let (mut reader, mut writer) = stream.into_split();
    writer
        .write_all(
            b"POST /graphql HTTP/1.1\r\nHost: keywarden\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{",
        )
        .await
        .unwrap();
    let trickling = trickle(writer, Duration::from_millis(200));
    let started = Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), reader.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the connection was closed after the answer");
    let took = started.elapsed();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"REQUEST_TIMEOUT\""), "{answer}");
    assert!(took < Duration::from_secs(4), "{took:?}");
    trickling.abort();
}

async fn get_healthz(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: keywarden\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .expect("an answer")
        .unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_and_a_busy_one_is_not() {
    let api = Api::start_with(&[
        "--keep-alive-timeout-ms",
        "1000",
        "--header-read-timeout-ms",
        "5000",
    ])
    .await;
    // Busy: a request every 400 ms for 2.4 s, all on one connection.
    let mut busy = connect(&api).await;
    for _ in 0..6 {
        assert!(get_healthz(&mut busy).await.starts_with("HTTP/1.1 200"));
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    // Idle after one request: closed after about a second.
    let mut idle = connect(&api).await;
    assert!(get_healthz(&mut idle).await.starts_with("HTTP/1.1 200"));
    let (_, took) = until_closed(&mut idle, Duration::from_secs(5))
        .await
        .expect("an idle connection is closed");
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_secs(4),
        "{took:?}"
    );
}

#[tokio::test]
async fn connections_past_the_cap_wait_until_one_closes() {
    let api = Api::start_with(&["--max-connections", "2"]).await;
    let first = connect(&api).await;
    let mut second = connect(&api).await;
    assert!(get_healthz(&mut second).await.starts_with("HTTP/1.1 200"));
    // The third is accepted by the kernel, but not served while two are open.
    let mut third = connect(&api).await;
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: keywarden\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let waiting = tokio::time::timeout(Duration::from_millis(700), third.read(&mut buf)).await;
    assert!(waiting.is_err(), "served past the cap: {waiting:?}");
    drop(first);
    let served = tokio::time::timeout(Duration::from_secs(5), third.read(&mut buf))
        .await
        .expect("served once a connection closed")
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..served]).starts_with("HTTP/1.1 200"));
}

//! The Browser against a hand-written HTTP/1.1 server on 127.0.0.1.

use std::net::SocketAddr;

use dialticket_sim::web::{resolve, Browser};
use dialticket_sim::SimError;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn read_request(stream: &mut TcpStream) -> (String, Vec<(String, String)>, String) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8(buf[..end].to_vec()).unwrap();
            let mut lines = head.split("\r\n");
            let request_line = lines.next().unwrap().to_string();
            let headers: Vec<(String, String)> = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
                .collect();
            let len: usize =
                headers.iter().find(|(n, _)| n == "content-length").map(|(_, v)| v.parse().unwrap()).unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = stream.read(&mut chunk).await.unwrap();
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = String::from_utf8(buf[end + 4..end + 4 + len].to_vec()).unwrap();
            return (request_line, headers, body);
        }
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0);
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn respond(status: &str, extra: &str, content_type: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nConnection: close\r\n{extra}Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

async fn server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let (line, headers, body) = read_request(&mut stream).await;
                let get =
                    |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or_default();
                let echo = json!({
                    "request": line,
                    "accept": get("accept"),
                    "content_type": get("content-type"),
                    "body": body,
                })
                .to_string();
                let path = line.split(' ').nth(1).unwrap_or("");
                let resp = match path {
                    "/redirect" => respond("303 See Other", "Location: /json?from=redirect\r\n", "text/plain", ""),
                    "/notjson" => respond("200 OK", "", "text/plain", "oops, not json"),
                    "/empty" => respond("404 Not Found", "", "application/json", ""),
                    "/html" => respond("200 OK", "", "text/html", &format!("<p>{}</p>", get("accept"))),
                    _ => respond("200 OK", "", "application/json", &echo),
                };
                stream.write_all(resp.as_bytes()).await.unwrap();
            });
        }
    });
    addr
}

#[tokio::test]
async fn get_json_sends_accept_and_follows_redirects() {
    let base = format!("http://{}", server().await);
    let b = Browser::new();
    let (status, v) = b.get_json(&format!("{base}/json")).await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(v["request"], "GET /json HTTP/1.1");
    assert_eq!(v["accept"], "application/json");

    let (status, v) = b.get_json(&format!("{base}/redirect")).await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(v["request"], "GET /json?from=redirect HTTP/1.1");

    let (status, v) = b.get_json(&format!("{base}/empty")).await.unwrap();
    assert_eq!((status, v), (404, serde_json::Value::Null));

    let err = b.get_json(&format!("{base}/notjson")).await.unwrap_err();
    assert!(matches!(err, SimError::Parse(_)), "{err}");
}

#[tokio::test]
async fn html_and_forms() {
    let base = format!("http://{}", server().await);
    let b = Browser::new();
    let (status, html) = b.get_html(&format!("{base}/html")).await.unwrap();
    assert_eq!(status, 200);
    assert!(html.starts_with("<p>text/html"), "{html}");

    let fields = [("seats", "2"), ("name", "山田 & Co")];
    let (status, v) = b.post_form_json(&format!("{base}/p/x/events/1"), &fields).await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(v["request"], "POST /p/x/events/1 HTTP/1.1");
    assert_eq!(v["accept"], "application/json");
    assert_eq!(v["content_type"], "application/x-www-form-urlencoded");
    assert_eq!(v["body"], "seats=2&name=%E5%B1%B1%E7%94%B0+%26+Co");

    let (status, body) = b.post_form_html(&format!("{base}/form"), &[("a", "b")]).await.unwrap();
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(v["accept"].as_str().unwrap().starts_with("text/html"));
    assert_eq!(v["body"], "a=b");
}

#[tokio::test]
async fn connection_refused_is_an_http_error() {
    // Bind and drop to get a port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
    let err = Browser::new().get_json(&format!("http://127.0.0.1:{port}/")).await.unwrap_err();
    assert!(matches!(err, SimError::Http(_)), "{err}");
}

#[test]
fn resolve_against_page_url() {
    assert_eq!(resolve("http://127.0.0.1:8080/p/tok/events", "/p/x/events/1"), "http://127.0.0.1:8080/p/x/events/1");
}

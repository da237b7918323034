//! The SMTP sink, driven by raw SMTP over a TcpStream.

use std::time::Duration;

use dialticket_sim::smtp::SmtpSink;
use dialticket_sim::SimError;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(5);

struct Client {
    rd: BufReader<OwnedReadHalf>,
    wr: OwnedWriteHalf,
}

impl Client {
    async fn connect(sink: &SmtpSink) -> Client {
        let stream = TcpStream::connect(sink.addr()).await.unwrap();
        let (rd, wr) = stream.into_split();
        let mut c = Client { rd: BufReader::new(rd), wr };
        let (code, _) = c.reply().await;
        assert_eq!(code, 220);
        c
    }

    /// Reads one (possibly multi-line) reply.
    async fn reply(&mut self) -> (u16, Vec<String>) {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            let n = timeout(WAIT, self.rd.read_line(&mut line)).await.unwrap().unwrap();
            assert!(n > 0, "connection closed");
            assert!(line.ends_with("\r\n"), "reply line without CRLF: {line:?}");
            let line = line.trim_end().to_string();
            let code: u16 = line[..3].parse().unwrap();
            let more = line.as_bytes().get(3) == Some(&b'-');
            lines.push(line[4.min(line.len())..].to_string());
            if !more {
                return (code, lines);
            }
        }
    }

    async fn send(&mut self, data: &str) {
        self.wr.write_all(data.as_bytes()).await.unwrap();
    }

    async fn cmd(&mut self, line: &str) -> u16 {
        self.send(&format!("{line}\r\n")).await;
        self.reply().await.0
    }

    /// MAIL, RCPT..., DATA, message, returns the final code.
    async fn mail(&mut self, from: &str, to: &[&str], message: &str) -> u16 {
        assert_eq!(self.cmd(&format!("MAIL FROM:<{from}>")).await, 250);
        for t in to {
            assert_eq!(self.cmd(&format!("RCPT TO:<{t}>")).await, 250);
        }
        assert_eq!(self.cmd("DATA").await, 354);
        self.send(message).await;
        self.send(".\r\n").await;
        self.reply().await.0
    }
}

async fn sink() -> SmtpSink {
    SmtpSink::bind("127.0.0.1:0".parse().unwrap()).await.unwrap()
}

#[tokio::test]
async fn ehlo_envelope_and_dot_stuffing() {
    let sink = sink().await;
    let mut c = Client::connect(&sink).await;
    c.send("EHLO client.test\r\n").await;
    let (code, lines) = c.reply().await;
    assert_eq!(code, 250);
    assert!(lines.iter().any(|l| l == "8BITMIME"), "{lines:?}");
    assert!(lines.iter().any(|l| l == "SMTPUTF8"), "{lines:?}");

    let message = "From: Dialticket <tickets@gw.example>\r\n\
                   To: Alice <alice@example.com>, bob@example.com\r\n\
                   Subject: Your ticket\r\n\
                   \r\n\
                   Line one\r\n\
                   ..leading dot\r\n\
                   ...two dots\r\n\
                   ..\r\n\
                   Visit https://gw.example/t/1.\r\n";
    let code = c.mail("bounces@gw.example", &["alice@example.com", "bob@example.com"], message).await;
    assert_eq!(code, 250);
    assert_eq!(c.cmd("QUIT").await, 221);

    let m = sink.wait_for(|m| m.subject == "Your ticket", WAIT).await.unwrap();
    assert_eq!(m.envelope_from, "bounces@gw.example");
    assert_eq!(m.envelope_to, vec!["alice@example.com", "bob@example.com"]);
    assert_eq!(m.from, "tickets@gw.example");
    assert_eq!(m.to, vec!["alice@example.com", "bob@example.com"]);
    let raw = String::from_utf8(m.raw.clone()).unwrap();
    assert!(raw.contains("\r\n.leading dot\r\n..two dots\r\n.\r\nVisit"), "{raw}");
    assert!(raw.ends_with("gw.example/t/1.\r\n"), "{raw:?}");
    assert!(m.text.contains(".leading dot"));
    assert_eq!(m.html, None);
    assert_eq!(m.links, vec!["https://gw.example/t/1"]);
    assert!(m.tel_links.is_empty());
    assert_eq!(sink.count(), 1);
}

#[tokio::test]
async fn two_messages_per_connection_pipelined_and_waiting() {
    let sink = sink().await;
    // Someone is already waiting before anything arrives.
    let waiter = {
        let sink = sink.clone();
        tokio::spawn(async move { sink.wait_for(|m| m.envelope_to.contains(&"b@x.test".to_string()), WAIT).await })
    };
    let mut c = Client::connect(&sink).await;
    assert_eq!(c.cmd("EHLO client.test").await, 250);
    // PIPELINING: the whole envelope in one write.
    c.send("MAIL FROM:<gw@x.test>\r\nRCPT TO:<a@x.test>\r\nDATA\r\n").await;
    assert_eq!(c.reply().await.0, 250);
    assert_eq!(c.reply().await.0, 250);
    assert_eq!(c.reply().await.0, 354);
    c.send("Subject: first\r\n\r\nhttps://x.test/1\r\n.\r\n").await;
    assert_eq!(c.reply().await.0, 250);
    assert_eq!(c.cmd("RSET").await, 250);
    assert_eq!(c.cmd("NOOP").await, 250);
    let code = c.mail("gw@x.test", &["b@x.test"], "Subject: second\r\n\r\nhttps://x.test/2\r\n").await;
    assert_eq!(code, 250);

    let second = waiter.await.unwrap().unwrap();
    assert_eq!(second.subject, "second");
    assert_eq!(sink.count(), 2);
    // wait_for returns the oldest match.
    let any = sink.wait_for(|_| true, WAIT).await.unwrap();
    assert_eq!(any.subject, "first");
    let subjects: Vec<_> = sink.messages().into_iter().map(|m| m.subject).collect();
    assert_eq!(subjects, vec!["first", "second"]);
    assert!(sink.messages()[0].received_at <= sink.messages()[1].received_at);
    let all = sink.wait_for_count(2, WAIT).await.unwrap();
    assert_eq!(all.len(), 2);
}

#[tokio::test]
async fn multipart_base64_text_and_quoted_printable_utf8_html() {
    let sink = sink().await;
    let mut c = Client::connect(&sink).await;
    assert_eq!(c.cmd("EHLO client.test").await, 250);
    let message = "From: =?UTF-8?B?44OJ44Oq44O844Og44OB44Kx44OD44OI?= <tickets@gw.example>\r\n\
To: hanako@example.jp\r\n\
Subject: =?UTF-8?B?44OB44Kx44OD44OI44Gu44GU5qGI5YaF?=\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/alternative; boundary=\"b1\"\r\n\
\r\n\
--b1\r\n\
Content-Type: text/plain; charset=UTF-8\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
44GU6LO85YWl44GC44KK44GM44Go44GG44GU44GW44GE44G+44GZ44CCDQrjg4HjgrHjg4Pjg4g6\r\n\
IGh0dHBzOi8vZ3cuZXhhbXBsZS90L2FiYz9zaWc9eHl6DQrjgYrllY/jgYTlkIjjgo/jgZsgdGVs\r\n\
Ois4MTMxMjM0NTY3OA0K\r\n\
--b1\r\n\
Content-Type: text/html; charset=UTF-8\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
<html><body><p>=E3=83=81=E3=82=B1=E3=83=83=E3=83=88</p>\r\n\
<a href=3D\"https://gw.example/t/abc?sig=3Dxyz&amp;lang=3Dja\">open</a>\r\n\
<a href=3D\"/t/abc/cancel\">cancel</a> <a href=3D\"tel:+81312345678\">call</a>\r\n\
<a href=3D\"https://gw.example/t/abc/very/long/path/that/was/soft=\r\n\
/wrapped\">w</a> <a href=3D\"https://gw.example/t/abc?sig=3Dxyz\">again</a>\r\n\
</body></html>\r\n\
--b1--\r\n";
    assert_eq!(c.mail("b@gw.example", &["hanako@example.jp"], message).await, 250);

    let m = sink.wait_for(|m| m.subject.contains("チケット"), WAIT).await.unwrap();
    assert_eq!(m.subject, "チケットのご案内");
    assert_eq!(m.from, "tickets@gw.example");
    assert_eq!(m.to, vec!["hanako@example.jp"]);
    assert!(m.text.starts_with("ご購入ありがとうございます。"), "{}", m.text);
    let html = m.html.as_deref().unwrap();
    assert!(html.contains("<p>チケット</p>"), "{html}");
    assert!(html.contains("href=\"https://gw.example/t/abc?sig=xyz&amp;lang=ja\""));
    assert_eq!(
        m.links,
        vec![
            "https://gw.example/t/abc?sig=xyz",
            "https://gw.example/t/abc?sig=xyz&lang=ja",
            "https://gw.example/t/abc/very/long/path/that/was/soft/wrapped",
        ],
        "relative hrefs are not links; duplicates dropped"
    );
    assert_eq!(m.tel_links, vec!["tel:+81312345678"]);
    assert_eq!(m.link_containing("lang=ja"), Some("https://gw.example/t/abc?sig=xyz&lang=ja"));
    assert_eq!(m.link_containing("tel:"), Some("tel:+81312345678"));
    assert_eq!(m.link_containing("nope"), None);
}

#[tokio::test]
async fn raw_utf8_headers_with_smtputf8() {
    let sink = sink().await;
    let mut c = Client::connect(&sink).await;
    assert_eq!(c.cmd("EHLO client.test").await, 250);
    assert_eq!(c.cmd("MAIL FROM:<チケット@gw.example> SMTPUTF8 BODY=8BITMIME").await, 250);
    assert_eq!(c.cmd("RCPT TO:<花子@example.jp>").await, 250);
    assert_eq!(c.cmd("DATA").await, 354);
    c.send(
        "Subject: 予約番号 1234\r\nContent-Type: text/plain; charset=UTF-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n本文 https://gw.example/r/1。\r\n.\r\n",
    )
    .await;
    assert_eq!(c.reply().await.0, 250);
    let m = sink.wait_for(|_| true, WAIT).await.unwrap();
    assert_eq!(m.envelope_from, "チケット@gw.example");
    assert_eq!(m.envelope_to, vec!["花子@example.jp"]);
    assert_eq!(m.subject, "予約番号 1234");
    assert_eq!(m.links, vec!["https://gw.example/r/1"]);
}

#[tokio::test]
async fn refusing_mode_answers_451_until_restored() {
    let sink = sink().await;
    sink.set_refusing(Some(451));
    let mut c = Client::connect(&sink).await;
    assert_eq!(c.cmd("EHLO client.test").await, 250);
    c.send("MAIL FROM:<gw@x.test>\r\n").await;
    let (code, text) = c.reply().await;
    assert_eq!(code, 451, "{text:?}");
    assert_eq!(c.cmd("RCPT TO:<a@x.test>").await, 503, "no transaction was opened");
    assert_eq!(sink.count(), 0);

    sink.set_refusing(None);
    let code = c.mail("gw@x.test", &["a@x.test"], "Subject: retried\r\n\r\nhi\r\n").await;
    assert_eq!(code, 250);
    assert_eq!(sink.wait_for(|_| true, WAIT).await.unwrap().subject, "retried");

    sink.set_refusing(Some(554));
    assert_eq!(c.cmd("MAIL FROM:<gw@x.test>").await, 554);
    assert_eq!(sink.count(), 1);
}

#[tokio::test]
async fn protocol_errors_and_timeouts() {
    let sink = sink().await;
    let mut c = Client::connect(&sink).await;
    assert_eq!(c.cmd("MAIL FROM:<gw@x.test>").await, 503, "EHLO first");
    assert_eq!(c.cmd("FROB").await, 500);
    assert_eq!(c.cmd("HELO client.test").await, 250);
    assert_eq!(c.cmd("DATA").await, 503);
    assert_eq!(c.cmd("RCPT TO:<a@x.test>").await, 503);
    assert_eq!(c.cmd("MAIL FROM:<gw@x.test> SIZE=20000000").await, 552);
    assert_eq!(c.cmd("MAIL FROM:<gw@x.test> SIZE=2000").await, 250);
    assert_eq!(c.cmd("MAIL FROM:<gw@x.test>").await, 503, "nested MAIL");
    assert_eq!(c.cmd("DATA").await, 503, "no recipients yet");
    assert_eq!(c.cmd("RCPT TO:<>").await, 501);
    assert_eq!(c.cmd("rcpt to:<a@x.test>").await, 250, "verbs are case-insensitive");
    assert_eq!(c.cmd("QUIT").await, 221);

    let started = std::time::Instant::now();
    let err = sink.wait_for(|_| true, Duration::from_millis(100)).await.unwrap_err();
    assert!(matches!(err, SimError::Timeout(_)), "{err}");
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(sink.count(), 0);
}

#[tokio::test]
async fn html_only_message_links_come_from_hrefs() {
    let sink = sink().await;
    let mut c = Client::connect(&sink).await;
    assert_eq!(c.cmd("EHLO client.test").await, 250);
    let message = "Subject: html only\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n\
                   <p>Hello <a href='https://gw.example/p/1'>ticket</a>\r\n\
                   <a href=\"tel:+442079460100\">call us</a></p>\r\n";
    assert_eq!(c.mail("gw@x.test", &["a@x.test"], message).await, 250);
    let m = timeout(WAIT, sink.wait_for(|_| true, WAIT)).await.unwrap().unwrap();
    assert!(m.html.as_deref().unwrap().contains("<a href='https://gw.example/p/1'>"));
    assert!(m.text.contains("Hello"), "text derived from html: {:?}", m.text);
    assert_eq!(m.links, vec!["https://gw.example/p/1"]);
    assert_eq!(m.tel_links, vec!["tel:+442079460100"]);
}

//! An SMTP sink: a real SMTP server (RFC 5321 subset) that keeps every message.
//!
//! [`SmtpSink::bind`] listens on a TCP address and accepts any number of
//! connections and messages. Supported commands: EHLO (advertising 8BITMIME,
//! PIPELINING, SIZE and SMTPUTF8), HELO, MAIL FROM, RCPT TO, DATA (with
//! dot-unstuffing, ending on `CRLF.CRLF`), RSET, NOOP, VRFY, HELP and QUIT;
//! anything else gets `500`. Commands out of order get `503`; messages over
//! 10 MB get `552`. There is no authentication and no TLS: this is a test tool.
//!
//! Each message is parsed with `mail-parser` (which decodes quoted-printable,
//! base64 and RFC 2047 encoded words, e.g. Japanese subjects) into a
//! [`ReceivedMail`], including the http(s) and tel: links it contains.
//!
//! [`SmtpSink::set_refusing`] simulates an outage: while set, `MAIL FROM` is
//! answered with the given code (e.g. 451) and nothing is accepted.
//! [`SmtpSink::stall_sessions`] simulates a relay that hangs: the next sessions
//! get the greeting and the EHLO reply, then no answer to anything.
//! [`SmtpSink::set_reply_delay`] simulates a slow relay: the message is kept at
//! once, its `250` after DATA comes late.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use mail_parser::{MessageParser, PartType};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::AbortHandle;
use tracing::{debug, warn};

use crate::SimError;

/// Largest message accepted (DATA), in bytes.
pub const MAX_MESSAGE_SIZE: usize = 10 * 1024 * 1024;
/// Longest command line accepted.
const MAX_COMMAND_LINE: usize = 4096;
/// Most recipients per message.
const MAX_RECIPIENTS: usize = 100;
/// A connection idle this long is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
const HOSTNAME: &str = "dialticket-sim";

/// One message as received by the sink.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    /// The `MAIL FROM` reverse path (empty for `<>`).
    pub envelope_from: String,
    /// The `RCPT TO` paths, in order.
    pub envelope_to: Vec<String>,
    /// Decoded Subject header (empty if missing).
    pub subject: String,
    /// Address of the first From mailbox (address only, no display name).
    pub from: String,
    /// Addresses of the To header.
    pub to: Vec<String>,
    /// The first text/plain body (or the HTML body converted to text if there is none).
    pub text: String,
    /// The first text/html body, if the message has one.
    pub html: Option<String>,
    /// http(s) URLs found in the text part and in `href="..."` of the html part,
    /// in order, without duplicates.
    pub links: Vec<String>,
    /// `tel:` URIs found in the text part and in `href="tel:..."`, without duplicates.
    pub tel_links: Vec<String>,
    /// The Message-ID header, without the angle brackets.
    pub message_id: Option<String>,
    /// The message as received (after dot-unstuffing).
    pub raw: Vec<u8>,
    /// When the DATA phase completed.
    pub received_at: Instant,
}

impl ReceivedMail {
    /// The first link (from [`links`](Self::links), then
    /// [`tel_links`](Self::tel_links)) containing `needle`.
    pub fn link_containing(&self, needle: &str) -> Option<&str> {
        self.links.iter().chain(self.tel_links.iter()).find(|l| l.contains(needle)).map(String::as_str)
    }

    /// Parses a raw RFC 5322 message received with the given envelope.
    pub fn parse(envelope_from: &str, envelope_to: &[String], raw: Vec<u8>) -> ReceivedMail {
        let mut mail = ReceivedMail {
            envelope_from: envelope_from.to_string(),
            envelope_to: envelope_to.to_vec(),
            subject: String::new(),
            from: String::new(),
            to: Vec::new(),
            text: String::new(),
            html: None,
            links: Vec::new(),
            tel_links: Vec::new(),
            message_id: None,
            raw: Vec::new(),
            received_at: Instant::now(),
        };
        if let Some(msg) = MessageParser::default().parse(&raw) {
            mail.subject = msg.subject().unwrap_or_default().to_string();
            mail.message_id = msg.message_id().map(str::to_string);
            mail.from = msg.from().and_then(|a| a.first()).and_then(|a| a.address()).unwrap_or_default().to_string();
            mail.to = msg
                .to()
                .map(|list| list.iter().filter_map(|a| a.address()).map(str::to_string).collect())
                .unwrap_or_default();
            mail.text = msg.body_text(0).map(|t| t.into_owned()).unwrap_or_default();
            let has_html = msg.html_part(0).is_some_and(|p| matches!(p.body, PartType::Html(_)));
            if has_html {
                mail.html = msg.body_html(0).map(|h| h.into_owned());
            }
        } else {
            warn!("mail-parser could not parse a message; keeping it raw");
            mail.text = String::from_utf8_lossy(&raw).into_owned();
        }
        let html = mail.html.as_deref().unwrap_or("");
        let hrefs = extract_hrefs(html);
        mail.links = dedup(extract_urls(&mail.text).into_iter().chain(hrefs.iter().filter(|h| is_http(h)).cloned()));
        mail.tel_links = dedup(
            extract_tels(&mail.text)
                .into_iter()
                .chain(hrefs.iter().filter(|h| h.len() > 4 && h[..4].eq_ignore_ascii_case("tel:")).cloned()),
        );
        mail.raw = raw;
        mail
    }
}

#[derive(Default)]
struct State {
    messages: Vec<ReceivedMail>,
    refusing: Option<u16>,
    /// Sessions still to stall (see [`SmtpSink::stall_sessions`]).
    stall: usize,
    /// Sessions stalled so far.
    stalled: usize,
    reply_delay: Option<Duration>,
    /// Connections accepted so far.
    sessions: usize,
}

struct Inner {
    addr: SocketAddr,
    state: Mutex<State>,
    notify: Notify,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Stops the accept loop when the last [`SmtpSink`] clone is dropped.
struct AcceptGuard(AbortHandle);

impl Drop for AcceptGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A running SMTP server that keeps all messages in memory. Cheap to clone;
/// the server stops accepting when the last clone is dropped.
#[derive(Clone)]
pub struct SmtpSink {
    inner: Arc<Inner>,
    _guard: Arc<AcceptGuard>,
}

impl std::fmt::Debug for SmtpSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSink").field("addr", &self.inner.addr).field("count", &self.count()).finish()
    }
}

impl SmtpSink {
    /// Binds `addr` (use port 0 for an ephemeral port) and spawns the accept loop.
    pub async fn bind(addr: SocketAddr) -> std::io::Result<SmtpSink> {
        let listener = TcpListener::bind(addr).await?;
        let inner = Arc::new(Inner {
            addr: listener.local_addr()?,
            state: Mutex::new(State::default()),
            notify: Notify::new(),
        });
        let task_inner = inner.clone();
        let task = tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, peer)) => {
                        // Replies are small writes; without NODELAY, Nagle + the client's
                        // delayed ACK add ~40 ms per exchange, which would hide real latency.
                        let _ = stream.set_nodelay(true);
                        task_inner.lock().sessions += 1;
                        let inner = task_inner.clone();
                        tokio::spawn(async move {
                            debug!(%peer, "SMTP connection");
                            if let Err(e) = session(stream, inner).await {
                                debug!(%peer, "SMTP session ended: {e}");
                            }
                        });
                    }
                    Err(e) => {
                        warn!("SMTP accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        });
        Ok(SmtpSink { inner, _guard: Arc::new(AcceptGuard(task.abort_handle())) })
    }

    /// The address the sink listens on.
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// All messages received so far, oldest first.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.inner.lock().messages.clone()
    }

    /// Takes the messages received so far out of the sink, oldest first: a
    /// long-running sink (the cluster benchmark's) hands them on and keeps none,
    /// so its memory stays bounded. [`count`](Self::count) and the waits see only
    /// what arrived after.
    pub fn take_messages(&self) -> Vec<ReceivedMail> {
        std::mem::take(&mut self.inner.lock().messages)
    }

    /// Connections accepted so far (a client that keeps its connection open
    /// sends many messages in one).
    pub fn sessions(&self) -> usize {
        self.inner.lock().sessions
    }

    /// Number of messages received so far.
    pub fn count(&self) -> usize {
        self.inner.lock().messages.len()
    }

    /// While `Some(code)`, `MAIL FROM` is answered with `code` (e.g. 451:
    /// the sender must retry later; 5xx: permanent failure). `None` restores
    /// normal service.
    pub fn set_refusing(&self, code: Option<u16>) {
        self.inner.lock().refusing = code;
    }

    /// The next `n` sessions hang: they get the greeting and the EHLO (or HELO)
    /// reply, then nothing, whatever the client sends, until it hangs up.
    pub fn stall_sessions(&self, n: usize) {
        self.inner.lock().stall = n;
    }

    /// How many sessions have hung so far ([`stall_sessions`](Self::stall_sessions)).
    pub fn stalled(&self) -> usize {
        self.inner.lock().stalled
    }

    /// While `Some(delay)`, a message is kept as soon as its DATA ends but the
    /// `250` that accepts it is sent `delay` later (a slow relay): a client that
    /// goes away in between has been delivered the message without learning it.
    pub fn set_reply_delay(&self, delay: Option<Duration>) {
        self.inner.lock().reply_delay = delay;
    }

    /// Returns the oldest message matching `pred`, waiting up to `timeout` for
    /// one to arrive.
    pub async fn wait_for<F: Fn(&ReceivedMail) -> bool>(
        &self,
        pred: F,
        timeout: Duration,
    ) -> Result<ReceivedMail, SimError> {
        self.wait_until(timeout, |msgs| msgs.iter().find(|m| pred(m)).cloned())
            .await
            .map_err(|n| SimError::Timeout(format!("no matching mail within {timeout:?} ({n} messages received)")))
    }

    /// Waits until at least `n` messages match `pred` and returns those, oldest first.
    pub async fn wait_for_matching<F: Fn(&ReceivedMail) -> bool>(
        &self,
        n: usize,
        pred: F,
        timeout: Duration,
    ) -> Result<Vec<ReceivedMail>, SimError> {
        self.wait_until(timeout, |msgs| {
            let found: Vec<ReceivedMail> = msgs.iter().filter(|m| pred(m)).cloned().collect();
            (found.len() >= n).then_some(found)
        })
        .await
        .map_err(|got| {
            SimError::Timeout(format!("{n} matching mails not received within {timeout:?} ({got} messages)"))
        })
    }

    /// Waits until at least `n` messages have been received and returns all of them.
    pub async fn wait_for_count(&self, n: usize, timeout: Duration) -> Result<Vec<ReceivedMail>, SimError> {
        self.wait_until(timeout, |msgs| (msgs.len() >= n).then(|| msgs.to_vec()))
            .await
            .map_err(|got| SimError::Timeout(format!("{n} mails not received within {timeout:?} (got {got})")))
    }

    /// Evaluates `check` on every change until it yields a value or `timeout`
    /// passes (then `Err(count)`).
    async fn wait_until<T>(&self, timeout: Duration, check: impl Fn(&[ReceivedMail]) -> Option<T>) -> Result<T, usize> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.inner.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(found) = check(&self.inner.lock().messages) {
                return Ok(found);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(self.count());
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Protocol

/// Reads one line (up to and including `\n`), at most `limit` bytes. 0 at EOF.
async fn read_line<R: AsyncBufRead + Unpin>(r: &mut R, buf: &mut Vec<u8>, limit: usize) -> std::io::Result<usize> {
    buf.clear();
    match tokio::time::timeout(IDLE_TIMEOUT, (&mut *r).take(limit as u64).read_until(b'\n', buf)).await {
        Ok(r) => r,
        Err(_) => Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "SMTP client idle")),
    }
}

async fn reply(wr: &mut OwnedWriteHalf, text: &str) -> std::io::Result<()> {
    debug!("SMTP >>> {text}");
    wr.write_all(format!("{text}\r\n").as_bytes()).await
}

/// The address inside `FROM:<...>` / `TO:<...>`, and the rest (ESMTP parameters).
fn parse_path<'a>(arg: &'a str, keyword: &str) -> Option<(String, &'a str)> {
    let arg = arg.trim_start();
    if arg.len() < keyword.len() || !arg[..keyword.len()].eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = arg[keyword.len()..].trim_start();
    if let Some(inner) = rest.strip_prefix('<') {
        let end = inner.find('>')?;
        Some((inner[..end].trim().to_string(), &inner[end + 1..]))
    } else {
        // Lenient: a bare address without angle brackets.
        let end = rest.find(' ').unwrap_or(rest.len());
        Some((rest[..end].to_string(), &rest[end..]))
    }
}

struct Envelope {
    from: String,
    to: Vec<String>,
}

async fn session(stream: TcpStream, inner: Arc<Inner>) -> std::io::Result<()> {
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::new(rd);
    reply(&mut wr, &format!("220 {HOSTNAME} ESMTP ready")).await?;
    let stalls = {
        let mut state = inner.lock();
        let stalls = state.stall > 0;
        if stalls {
            state.stall -= 1;
            state.stalled += 1;
        }
        stalls
    };
    let mut greeted = false;
    let mut envelope: Option<Envelope> = None;
    let mut line = Vec::new();
    loop {
        let n = read_line(&mut rd, &mut line, MAX_COMMAND_LINE).await?;
        if n == 0 {
            return Ok(());
        }
        if !line.ends_with(b"\n") && n >= MAX_COMMAND_LINE {
            reply(&mut wr, "500 5.5.2 Line too long").await?;
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        debug!("SMTP <<< {text}");
        let (verb, arg) = match text.split_once(' ') {
            Some((v, a)) => (v.to_ascii_uppercase(), a.trim()),
            None => (text.trim().to_ascii_uppercase(), ""),
        };
        if stalls && greeted {
            debug!("SMTP stalled: no answer to {verb}");
            continue;
        }
        match verb.as_str() {
            "EHLO" => {
                greeted = true;
                envelope = None;
                let lines = [
                    format!("250-{HOSTNAME} greets {arg}"),
                    "250-8BITMIME".to_string(),
                    "250-PIPELINING".to_string(),
                    format!("250-SIZE {MAX_MESSAGE_SIZE}"),
                    "250 SMTPUTF8".to_string(),
                ];
                reply(&mut wr, &lines.join("\r\n")).await?;
            }
            "HELO" => {
                greeted = true;
                envelope = None;
                reply(&mut wr, &format!("250 {HOSTNAME}")).await?;
            }
            "MAIL" => {
                if !greeted {
                    reply(&mut wr, "503 5.5.1 Send EHLO/HELO first").await?;
                    continue;
                }
                if envelope.is_some() {
                    reply(&mut wr, "503 5.5.1 Nested MAIL command").await?;
                    continue;
                }
                let refusing = inner.lock().refusing;
                if let Some(code) = refusing {
                    let text = if code < 500 {
                        "4.3.0 Mail service temporarily unavailable, try again later"
                    } else {
                        "5.3.0 Mail service refused"
                    };
                    reply(&mut wr, &format!("{code} {text}")).await?;
                    continue;
                }
                let Some((from, params)) = parse_path(arg, "FROM:") else {
                    reply(&mut wr, "501 5.5.4 Syntax: MAIL FROM:<address>").await?;
                    continue;
                };
                let declared = params.split_whitespace().find_map(|p| {
                    let (k, v) = p.split_once('=')?;
                    k.eq_ignore_ascii_case("SIZE").then(|| v.parse::<usize>().ok()).flatten()
                });
                if declared.is_some_and(|s| s > MAX_MESSAGE_SIZE) {
                    reply(&mut wr, "552 5.3.4 Message size exceeds fixed limit").await?;
                    continue;
                }
                envelope = Some(Envelope { from, to: Vec::new() });
                reply(&mut wr, "250 2.1.0 OK").await?;
            }
            "RCPT" => {
                let Some(env) = envelope.as_mut() else {
                    reply(&mut wr, "503 5.5.1 Need MAIL before RCPT").await?;
                    continue;
                };
                match parse_path(arg, "TO:") {
                    Some((to, _)) if !to.is_empty() => {
                        if env.to.len() >= MAX_RECIPIENTS {
                            reply(&mut wr, "452 4.5.3 Too many recipients").await?;
                        } else {
                            env.to.push(to);
                            reply(&mut wr, "250 2.1.5 OK").await?;
                        }
                    }
                    _ => reply(&mut wr, "501 5.5.4 Syntax: RCPT TO:<address>").await?,
                }
            }
            "DATA" => {
                let Some(env) = envelope.take_if(|e| !e.to.is_empty()) else {
                    reply(&mut wr, "503 5.5.1 Need RCPT before DATA").await?;
                    continue;
                };
                reply(&mut wr, "354 End data with <CR><LF>.<CR><LF>").await?;
                match read_data(&mut rd, &mut line).await? {
                    Some(raw) => {
                        let mail = ReceivedMail::parse(&env.from, &env.to, raw);
                        debug!(subject = %mail.subject, to = ?mail.envelope_to, "mail received");
                        let n = {
                            let mut state = inner.lock();
                            state.messages.push(mail);
                            state.messages.len()
                        };
                        inner.notify.notify_waiters();
                        let delay = inner.lock().reply_delay;
                        if let Some(delay) = delay {
                            tokio::time::sleep(delay).await;
                        }
                        reply(&mut wr, &format!("250 2.0.0 OK queued as {n}")).await?;
                    }
                    None => {
                        reply(&mut wr, "552 5.3.4 Message size exceeds fixed limit").await?;
                    }
                }
            }
            "RSET" => {
                envelope = None;
                reply(&mut wr, "250 2.0.0 OK").await?;
            }
            "NOOP" => reply(&mut wr, "250 2.0.0 OK").await?,
            "VRFY" => reply(&mut wr, "252 2.1.5 Cannot VRFY user").await?,
            "HELP" => reply(&mut wr, "214 2.0.0 See RFC 5321").await?,
            "QUIT" => {
                reply(&mut wr, &format!("221 2.0.0 {HOSTNAME} closing connection")).await?;
                return Ok(());
            }
            _ => reply(&mut wr, "500 5.5.2 Command unrecognized").await?,
        }
    }
}

/// Reads the DATA section up to the lone dot, undoing dot-stuffing.
/// `Ok(None)` if the message is larger than [`MAX_MESSAGE_SIZE`].
async fn read_data<R: AsyncBufRead + Unpin>(rd: &mut R, line: &mut Vec<u8>) -> std::io::Result<Option<Vec<u8>>> {
    let mut data = Vec::new();
    let mut too_big = false;
    loop {
        let n = read_line(rd, line, MAX_MESSAGE_SIZE + 2).await?;
        if n == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "connection closed during DATA"));
        }
        if line.as_slice() == b".\r\n" || line.as_slice() == b".\n" {
            break;
        }
        let content = line.strip_prefix(b".").unwrap_or(line);
        if too_big || data.len() + content.len() > MAX_MESSAGE_SIZE {
            too_big = true;
            data = Vec::new();
        } else {
            data.extend_from_slice(content);
        }
    }
    Ok((!too_big).then_some(data))
}

// ---------------------------------------------------------------------------
// Link extraction

fn is_http(s: &str) -> bool {
    let l = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    l.starts_with("http://") || l.starts_with("https://")
}

fn dedup(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        if !item.is_empty() && !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// Trims trailing punctuation that is more likely prose than part of a URI.
fn trim_trailing(mut s: &str) -> &str {
    loop {
        let Some(last) = s.chars().last() else {
            return s;
        };
        let strip = match last {
            '.' | ',' | ';' | ':' | '!' | '?' | '\'' | '"' => true,
            ')' => s.matches('(').count() < s.matches(')').count(),
            ']' => s.matches('[').count() < s.matches(']').count(),
            _ => false,
        };
        if !strip {
            return s;
        }
        s = &s[..s.len() - last.len_utf8()];
    }
}

/// Finds `prefix` (ASCII, lowercase) case-insensitively at word starts; yields byte offsets.
fn find_prefixed(text: &str, prefix: &str) -> Vec<usize> {
    let lower = text.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = lower[from..].find(prefix) {
        let at = from + pos;
        let boundary = text[..at].chars().last().is_none_or(|c| !c.is_alphanumeric() && c != '-' && c != '_');
        if boundary {
            out.push(at);
        }
        from = at + prefix.len();
    }
    out
}

fn url_char(c: char) -> bool {
    c.is_ascii_graphic() && !matches!(c, '<' | '>' | '"' | '`' | '{' | '}' | '|' | '\\' | '^')
}

/// http(s) URLs in plain text, in order.
fn extract_urls(text: &str) -> Vec<String> {
    let mut starts: Vec<usize> = find_prefixed(text, "http://");
    starts.extend(find_prefixed(text, "https://"));
    starts.sort_unstable();
    starts
        .into_iter()
        .filter_map(|at| {
            let rest = &text[at..];
            let end = rest.find(|c: char| !url_char(c)).unwrap_or(rest.len());
            let url = trim_trailing(&rest[..end]);
            url.contains("://").then_some(url).filter(|u| u.len() > u.find("://").unwrap_or(0) + 3).map(str::to_string)
        })
        .collect()
}

/// tel: URIs in plain text, in order.
fn extract_tels(text: &str) -> Vec<String> {
    find_prefixed(text, "tel:")
        .into_iter()
        .filter_map(|at| {
            let rest = &text[at + 4..];
            let end =
                rest.find(|c: char| !(c.is_ascii_alphanumeric() || "+-.()=;%*#".contains(c))).unwrap_or(rest.len());
            let number = trim_trailing(&rest[..end]);
            number.chars().any(|c| c.is_ascii_digit()).then(|| format!("{}{}", &text[at..at + 4], number))
        })
        .collect()
}

/// The values of `href` attributes in HTML, entity-decoded, in order.
fn extract_hrefs(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for at in find_prefixed(html, "href") {
        let rest = html[at + 4..].trim_start();
        let Some(rest) = rest.strip_prefix('=') else {
            continue;
        };
        let rest = rest.trim_start();
        let value = match rest.chars().next() {
            Some(q @ ('"' | '\'')) => {
                let inner = &rest[1..];
                match inner.find(q) {
                    Some(end) => &inner[..end],
                    None => continue,
                }
            }
            Some(_) => {
                let end = rest.find(|c: char| c.is_whitespace() || c == '>').unwrap_or(rest.len());
                &rest[..end]
            }
            None => continue,
        };
        let value = decode_entities(value.trim());
        if !value.is_empty() {
            out.push(value);
        }
    }
    out
}

/// Decodes the HTML character references that occur in attribute values.
fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let decoded = after.find(';').filter(|end| *end <= 10).and_then(|end| {
            let name = &after[..end];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => {
                    let num = name.strip_prefix('#')?;
                    let code = match num.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => num.parse::<u32>().ok()?,
                    };
                    char::from_u32(code)
                }
            }?;
            Some((c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &after[end + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_in_text() {
        let text = "Your ticket: https://gw.example/p/abc?x=1&y=2.\n\
                    (see http://127.0.0.1:8080/p/x/events/1) or <https://a.example/b>,\n\
                    xhttps://not.a.link and https://gw.example/p/abc?x=1&y=2 again\n\
                    https://ja.example/チケット 以上";
        assert_eq!(
            extract_urls(text),
            vec![
                "https://gw.example/p/abc?x=1&y=2",
                "http://127.0.0.1:8080/p/x/events/1",
                "https://a.example/b",
                "https://gw.example/p/abc?x=1&y=2",
                "https://ja.example/",
            ]
        );
    }

    #[test]
    fn tels_in_text() {
        let text = "Call tel:+442079460100. Hotel:123 is not one; TEL:+81-3-1234-5678;ext=1, tel:none";
        assert_eq!(extract_tels(text), vec!["tel:+442079460100", "TEL:+81-3-1234-5678;ext=1"]);
    }

    #[test]
    fn hrefs_in_html() {
        let html = r#"<a class="x" href="https://gw.example/p/a?x=1&amp;y=2">A</a>
            <a data-href="https://no.example/">B</a><a HREF = 'tel:+4420'>C</a>
            <a href=/relative/path>D</a><a href="&#104;ttps://e.example/&#x41;">E</a>"#;
        assert_eq!(
            extract_hrefs(html),
            vec!["https://gw.example/p/a?x=1&y=2", "tel:+4420", "/relative/path", "https://e.example/A",]
        );
    }

    #[test]
    fn entities() {
        assert_eq!(decode_entities("a&amp;b&lt;&gt;&bogus;&#9731;&"), "a&b<>&bogus;☃&");
    }
}

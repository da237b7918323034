//! Framing and tokenizing (RFC 3261 §7, §18.3), and the checks a request passes
//! before anything above sees it (§8.1.1, §8.2; RFC 4475 via `sip::strict`).

use bytes::Bytes;

use super::headers::{canonical_name, CSeq, Headers, Via};
use super::uri::{split_outside_quotes, NameAddr, Uri, UriError};
use super::{is_token_byte, Message, Method, Request, Response, MAX_HEADERS, MAX_MESSAGE_BYTES};

/// Why a message could not be taken in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not enough of a SIP request to answer (or a response / ACK, which are never answered).
    #[error("unanswerable: {0}")]
    Unanswerable(String),
    /// A request whose Via, From, To, Call-ID and CSeq were readable: answer it with this status.
    #[error("{status} {reason}")]
    Answerable { status: u16, reason: String, headers: Box<Headers>, via: Box<Via> },
}

/// The start line and header fields of a message, before validation.
#[derive(Debug)]
pub struct Head {
    start: StartLine,
    pub headers: Headers,
}

#[derive(Debug)]
enum StartLine {
    /// `malformed`: the line is a request but breaks §7.1's grammar (answered 400).
    Request {
        method: String,
        uri: String,
        version: String,
        malformed: Option<&'static str>,
    },
    Response {
        code: u16,
        reason: String,
    },
}

impl Head {
    /// `Content-Length`, `None` if absent; `Err` (a reason phrase) if it is not a
    /// number, or if there are two: the message then has no framing (RFC 4475 §3.3.9).
    pub fn content_length(&self) -> Result<Option<usize>, &'static str> {
        let mut values = self.headers.get_all("Content-Length");
        let first = values.next();
        if values.next().is_some() {
            return Err("More than one Content-Length header");
        }
        first.map(|v| v.trim().parse::<usize>().map_err(|_| "Bad Content-Length")).transpose()
    }
}

/// Where the header section ends: the index just past the empty line, if present.
/// Accepts bare LF line ends (§7.5 asks for CRLF, but being lenient costs nothing).
pub fn find_head_end(buf: &[u8]) -> Option<usize> {
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Tokenize the start line and header fields (everything before the empty line).
pub fn parse_head(head: &[u8]) -> Result<Head, ParseError> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    // §7.5: implementations should ignore CRLFs that precede the start-line.
    let start = loop {
        match lines.next() {
            Some("") => continue,
            Some(l) => break l,
            None => return Err(ParseError::Unanswerable("empty message".into())),
        }
    };
    let start = parse_start_line(start)?;

    let mut raw: Vec<String> = Vec::new();
    for line in lines {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            // Folded continuation of the previous header (§7.3.1).
            match raw.last_mut() {
                Some(prev) => {
                    prev.push(' ');
                    prev.push_str(line.trim());
                }
                None => return Err(ParseError::Unanswerable("continuation line before any header".into())),
            }
        } else {
            raw.push(line.to_string());
        }
        if raw.len() > MAX_HEADERS {
            return Err(ParseError::Unanswerable("too many header fields".into()));
        }
    }

    let mut headers = Headers::new();
    for line in raw {
        let Some((name, value)) = line.split_once(':') else {
            return Err(malformed_header(&line));
        };
        let name = name.trim_end();
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(malformed_header(&line));
        }
        let name = canonical_name(name);
        let value = value.trim();
        if name == "Via" {
            // Several Via values may share one line (§7.3.1); keep one per field so the
            // top Via is always the first field.
            for v in split_outside_quotes(value, b',') {
                headers.push("Via", v.trim());
            }
        } else {
            headers.push(name, value);
        }
        if headers.len() > MAX_HEADERS {
            return Err(ParseError::Unanswerable("too many header fields".into()));
        }
    }
    Ok(Head { start, headers })
}

fn malformed_header(line: &str) -> ParseError {
    // The rest of the header section is unknown, so we cannot be sure Via/CSeq are right.
    ParseError::Unanswerable(format!("malformed header line: {}", line.chars().take(80).collect::<String>()))
}

fn parse_start_line(line: &str) -> Result<StartLine, ParseError> {
    let bad = || ParseError::Unanswerable(format!("bad start line: {}", line.chars().take(80).collect::<String>()));
    if let Some(rest) = line.strip_prefix("SIP/") {
        // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (§7.2)
        let mut it = rest.splitn(3, ' ');
        let version = it.next().ok_or_else(bad)?;
        let code: u16 = it.next().and_then(|c| c.parse().ok()).ok_or_else(bad)?;
        if version != "2.0" || !(100..=699).contains(&code) {
            return Err(bad());
        }
        return Ok(StartLine::Response { code, reason: it.next().unwrap_or_default().to_string() });
    }
    // Request-Line = Method SP Request-URI SP SIP-Version CRLF (§7.1): single spaces, none
    // at the end. A line that is a request but spaced otherwise (RFC 4475 §3.1.2.8-10:
    // LWS inside the URI, several SP, SP before the CRLF) is still read, so the 400
    // can be sent; the URI is then everything between the method and the version.
    let words: Vec<&str> = line.split_ascii_whitespace().collect();
    let (Some(&method), Some(&version)) = (words.first(), words.last()) else { return Err(bad()) };
    if words.len() < 3 || !method.bytes().all(is_token_byte) || !version.starts_with("SIP/") {
        return Err(bad());
    }
    let strict = line.split(' ').count() == 3 && words.len() == 3;
    let malformed = match words.len() {
        3 if strict => None,
        3 => Some("Extra whitespace in the Request-Line"),
        _ => Some("Whitespace in the Request-URI"),
    };
    Ok(StartLine::Request {
        method: method.to_string(),
        uri: words[1..words.len() - 1].join(" "),
        version: version.to_string(),
        malformed,
    })
}

/// Finish a request or response from its head and body (already cut to Content-Length).
pub fn finish(head: Head, body: Bytes) -> Result<Message, ParseError> {
    match head.start {
        StartLine::Response { code, reason } => {
            let headers = head.headers;
            let ok = headers.get("Via").and_then(Via::parse).is_some()
                && headers.get("CSeq").and_then(CSeq::parse).is_some()
                && headers.get("Call-ID").is_some();
            if !ok {
                return Err(ParseError::Unanswerable("response without usable Via/CSeq/Call-ID".into()));
            }
            Ok(Message::Response(Response { code, reason, headers, body }))
        }
        StartLine::Request { method, uri, version, malformed } => {
            validate_request(method, uri, version, malformed, head.headers, body).map(Message::Request)
        }
    }
}

fn validate_request(
    method: String,
    uri: String,
    version: String,
    malformed: Option<&'static str>,
    headers: Headers,
    body: Bytes,
) -> Result<Request, ParseError> {
    let unanswerable = |why: &str| ParseError::Unanswerable(why.to_string());
    let method = Method::parse(&method).ok_or_else(|| unanswerable("bad method"))?;
    // Without a usable Via there is nowhere to send a response (§18.2.2). A request of
    // another SIP version has a Via of that version; it is read to send the 505.
    let via = match headers.get("Via") {
        Some(v) if version == "SIP/2.0" => Via::parse(v),
        Some(v) => Via::parse_any_version(v),
        None => None,
    };
    let via = via.ok_or_else(|| unanswerable("no usable Via"))?;
    // From here on a response can be routed, so problems are answered (never for ACK, §17.1.1.3).
    let answer = |status: u16, reason: &str| {
        if method == Method::Ack {
            ParseError::Unanswerable(format!("ACK: {reason}"))
        } else {
            ParseError::Answerable {
                status,
                reason: reason.to_string(),
                headers: Box::new(headers.clone()),
                via: Box::new(via.clone()),
            }
        }
    };
    // A version we do not speak is refused (505, §21.5.6) before anything else is
    // read (RFC 4475 §3.1.2.16).
    if version != "SIP/2.0" {
        return Err(answer(505, "Version Not Supported"));
    }
    if let Some(why) = malformed {
        return Err(answer(400, why));
    }
    // §8.1.1: To, From, CSeq, Call-ID, Max-Forwards and Via are mandatory; we are lenient
    // about Max-Forwards (a UAS is its last hop anyway) but need the other four to build
    // a response the client can match (§8.2.6.2). A 400 says which one is missing.
    for h in ["From", "To", "Call-ID", "CSeq"] {
        if headers.get(h).is_none_or(|v| v.trim().is_empty()) {
            return Err(answer(400, &format!("Missing {h} header")));
        }
    }
    if let Err(why) = crate::sip::strict::check_request(&uri, &headers) {
        return Err(answer(400, &why));
    }
    let uri = match Uri::parse(&uri) {
        Ok(u) => u,
        Err(UriError::UnsupportedScheme(_)) => return Err(answer(416, "Unsupported URI Scheme")),
        Err(UriError::Malformed(_)) => return Err(answer(400, "Bad Request-URI")),
    };
    let cseq = match headers.get("CSeq").and_then(CSeq::parse) {
        Some(c) if c.method == method => c,
        Some(_) => return Err(answer(400, "CSeq method does not match the request")),
        None => return Err(answer(400, "Bad CSeq")),
    };
    let from = headers.get("From").map(NameAddr::parse);
    let Some(Ok(from)) = from else {
        return Err(answer(400, "Bad From"));
    };
    let to = headers.get("To").map(NameAddr::parse);
    let Some(Ok(to)) = to else {
        return Err(answer(400, "Bad To"));
    };
    if let Some(mf) = headers.get("Max-Forwards") {
        if mf.trim().parse::<u8>().is_err() {
            return Err(answer(400, "Bad Max-Forwards"));
        }
    }
    let call_id = headers.get("Call-ID").unwrap_or_default().trim().to_string();
    Ok(Request { method, uri, headers, body, via, cseq, call_id, from, to })
}

/// Parse one UDP datagram (RFC 3261 §18.3: the body ends at Content-Length,
/// extra bytes are discarded; a shorter body is an error).
pub fn parse_datagram(buf: &[u8]) -> Result<Message, ParseError> {
    if buf.len() > MAX_MESSAGE_BYTES {
        return Err(ParseError::Unanswerable("datagram too large".into()));
    }
    let (head, rest) = match find_head_end(buf) {
        Some(end) => (&buf[..end], &buf[end..]),
        // A message whose header section is not terminated: accept it if it is the whole datagram.
        None => (buf, &[][..]),
    };
    let head = parse_head(head)?;
    let body = match head.content_length() {
        Ok(Some(n)) if n <= rest.len() => Bytes::copy_from_slice(&rest[..n]),
        Ok(Some(_)) => return Err(answerable_from_head(&head, 400, "Content-Length larger than the message")),
        Ok(None) => Bytes::copy_from_slice(rest),
        Err(why) => return Err(answerable_from_head(&head, 400, why)),
    };
    finish(head, body)
}

/// An error to answer with `status` if the head is a request with enough headers to
/// answer, otherwise an unanswerable one.
pub fn answerable_from_head(head: &Head, status: u16, reason: &str) -> ParseError {
    // A response needs only a usable Via to be routed (§18.2.2); the rest is copied if present.
    let is_answerable_request = matches!(&head.start, StartLine::Request { method, .. } if method != "ACK");
    match head.headers.get("Via").and_then(Via::parse) {
        Some(via) if is_answerable_request => ParseError::Answerable {
            status,
            reason: reason.to_string(),
            headers: Box::new(head.headers.clone()),
            via: Box::new(via),
        },
        _ => ParseError::Unanswerable(reason.to_string()),
    }
}

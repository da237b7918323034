//! Transactions (RFC 3261 §17, with the RFC 6026 "Accepted" state).
//!
//! * Server transactions absorb retransmitted requests (answering them with the
//!   last response) so the layer above sees each request once, retransmit
//!   non-2xx finals to INVITEs over UDP until the ACK, and linger long enough
//!   to catch late retransmissions.
//! * Non-INVITE client transactions (our BYE) retransmit over UDP until a final
//!   response or Timer F.
//!
//! * The table is bounded ([`Limits`]): a source that is not a configured trunk
//!   can hold only so many transactions at once, and the whole table has a cap,
//!   so no flood of requests can grow memory without bound.
//!
//! Nothing here knows about calls or tickets; the endpoint above is the TU.
//! All timers are tokio timers, so tests can run them under `tokio::time::pause()`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, Weak};

use bytes::Bytes;
use tokio::sync::{mpsc, watch, Notify};
use tokio::time::sleep;

use super::message::{self, format_host_port, Headers, Method, OutgoingRequest, Request, Response};
use super::timers::{Retransmission, Tick, Timers};
use super::transport::{Flow, Transport};
use crate::sync::lock;

/// Bounds on the server transaction table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Live server transactions in all. A transaction lives up to 64·T1 (32 s) after
    /// its final response (Timers H, J, L), so this caps calls per second at about
    /// `max_transactions / 64` (two transactions per call, INVITE and BYE).
    pub max_transactions: usize,
    /// Live server transactions per source that is not a configured trunk (an IPv4
    /// address, or an IPv6 /64: see [`super::transport::source_of`]).
    pub max_transactions_per_source: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_transactions: 500_000, max_transactions_per_source: 1_000 }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TxError {
    #[error("the transaction already has a final response")]
    AlreadyFinal,
    #[error("{0} is not a provisional response")]
    NotProvisional(u16),
    #[error("{0} is not a final response")]
    NotFinal(u16),
    #[error("no final response before Timer F")]
    Timeout,
    #[error("transport: {0}")]
    Transport(#[from] std::io::Error),
}

/// How a request is matched to its server transaction (§17.2.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TxKey {
    /// Top Via branch (with the z9hG4bK cookie) + sent-by + method; ACK matches INVITE.
    Rfc3261 { branch: String, sent_by: String, method: Method },
    /// RFC 2543 peers have no unique branch: Call-ID + CSeq number + From tag + method.
    Rfc2543 { call_id: String, cseq: u32, from_tag: String, method: Method },
}

impl TxKey {
    pub fn for_request(req: &Request) -> TxKey {
        let method = if req.method == Method::Ack { Method::Invite } else { req.method.clone() };
        Self::with_method(req, method)
    }

    /// The INVITE transaction a CANCEL refers to (§9.2: same key except the method).
    pub fn invite_for_cancel(cancel: &Request) -> TxKey {
        Self::with_method(cancel, Method::Invite)
    }

    fn with_method(req: &Request, method: Method) -> TxKey {
        match req.via.branch() {
            Some(branch) if req.via.is_rfc3261_branch() => TxKey::Rfc3261 {
                branch: branch.to_string(),
                sent_by: format_host_port(&req.via.host, req.via.port),
                method,
            },
            _ => TxKey::Rfc2543 {
                call_id: req.call_id.clone(),
                cseq: req.cseq.seq,
                from_tag: req.from.tag().unwrap_or_default().to_string(),
                method,
            },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No final response yet ("Trying"/"Proceeding").
    Proceeding,
    /// Final non-2xx sent, waiting for the ACK (INVITE) or lingering (non-INVITE).
    Completed,
    /// ACK received for a non-2xx final (INVITE only).
    Confirmed,
    /// 2xx sent to an INVITE (RFC 6026 §7.1).
    Accepted,
    Terminated,
}

struct Inner {
    state: State,
    last_response: Option<Bytes>,
}

/// One server transaction.
pub struct ServerTx {
    key: TxKey,
    /// Where it came from, as the per-source cap counts it.
    source: IpAddr,
    invite: bool,
    flow: Flow,
    to_tag: String,
    request_headers: Headers,
    timers: Timers,
    transport: Arc<Transport>,
    layer: Weak<TransactionLayer>,
    inner: Mutex<Inner>,
    ack: Notify,
    final_sent: watch::Sender<bool>,
    /// Headers the transaction user puts on every response it builds from here
    /// on (e.g. RFC 9410's `Reason: STIR`), as (name, value).
    sticky: Mutex<Vec<(String, String)>>,
    /// The dialplan action that took this INVITE, for the final-status counter
    /// ([`crate::metrics::Metrics::call_final`]); unset: refused before a rule took it.
    action: std::sync::OnceLock<&'static str>,
}

impl std::fmt::Debug for ServerTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTx").field("key", &self.key).field("flow", &self.flow).finish()
    }
}

impl ServerTx {
    /// The flow the request came on; responses go back on it.
    pub fn flow(&self) -> &Flow {
        &self.flow
    }

    /// A To tag chosen for this transaction, so every response to it (and the 200 to a
    /// CANCEL of it, §9.2) carries the same one.
    pub fn to_tag(&self) -> &str {
        &self.to_tag
    }

    /// The request's headers (with received/rport applied), to build responses from.
    pub fn request_headers(&self) -> &Headers {
        &self.request_headers
    }

    /// Put `name: value` on every later response of this transaction (see [`Self::sticky_headers`]).
    pub fn add_sticky_header(&self, name: &str, value: String) {
        lock(&self.sticky).push((name.to_string(), value));
    }

    /// The headers given to [`Self::add_sticky_header`], in order.
    pub fn sticky_headers(&self) -> Vec<(String, String)> {
        lock(&self.sticky).clone()
    }

    /// No final response has been sent yet.
    pub fn is_pending(&self) -> bool {
        lock(&self.inner).state == State::Proceeding
    }

    /// Resolves once a final response has been sent (by anyone, e.g. a 487 after CANCEL).
    pub async fn final_response_sent(&self) {
        let mut rx = self.final_sent.subscribe();
        let _ = rx.wait_for(|sent| *sent).await;
    }

    /// §9.2: a CANCEL ends the INVITE it names with `terminated` (487), unless a
    /// final response went out first. The CANCEL's task holds no handle on the
    /// INVITE's transaction (the call's task does), so this is the one final
    /// response that can race the handle's: whichever comes first is sent, the
    /// other gets [`TxError::AlreadyFinal`].
    pub fn cancel_with(self: &Arc<Self>, terminated: &Response) -> Result<(), TxError> {
        self.respond(terminated)
    }

    /// Send a response. Provisional responses may repeat; the first final response
    /// wins and later ones get [`TxError::AlreadyFinal`].
    fn respond(self: &Arc<Self>, resp: &Response) -> Result<(), TxError> {
        let bytes = resp.to_bytes();
        let is_final = resp.code >= 200;
        {
            let mut inner = lock(&self.inner);
            if inner.state != State::Proceeding {
                return Err(TxError::AlreadyFinal);
            }
            inner.last_response = Some(bytes.clone());
            if is_final {
                inner.state = if self.invite && resp.code < 300 { State::Accepted } else { State::Completed };
            }
        }
        let sent = self.transport.send(&self.flow, bytes);
        if is_final {
            if self.invite {
                if let Some(layer) = self.layer.upgrade() {
                    let action = self.action.get().copied().unwrap_or(crate::metrics::NO_ACTION);
                    layer.metrics.call_final(action, resp.code);
                }
            }
            self.final_sent.send_replace(true);
            self.start_final_timers(resp.code);
        }
        sent.map_err(TxError::from)
    }

    fn resend_last(&self) {
        let last = lock(&self.inner).last_response.clone();
        if let Some(bytes) = last {
            if let Err(e) = self.transport.send(&self.flow, bytes) {
                tracing::debug!(error = %e, "retransmission failed");
            }
        }
    }

    fn terminate(&self) {
        lock(&self.inner).state = State::Terminated;
        if let Some(layer) = self.layer.upgrade() {
            let mut table = lock(&layer.server);
            // Only remove ourselves, not a newer transaction that reused the key.
            if table.map.get(&self.key).is_some_and(|t| std::ptr::eq(Arc::as_ptr(t), self)) {
                table.map.remove(&self.key);
                if let std::collections::hash_map::Entry::Occupied(mut e) = table.per_source.entry(self.source) {
                    *e.get_mut() -= 1;
                    if *e.get() == 0 {
                        e.remove();
                    }
                }
            }
        }
    }

    fn start_final_timers(self: &Arc<Self>, code: u16) {
        let tx = self.clone();
        let reliable = self.flow.is_reliable();
        let t = self.timers;
        tokio::spawn(async move {
            if tx.invite && code >= 300 {
                // §17.2.1: Timer G retransmits (UDP only), Timer H gives up.
                let mut schedule = Retransmission::start(t, !reliable);
                loop {
                    tokio::select! {
                        _ = tx.ack.notified() => break,
                        tick = schedule.tick() => match tick {
                            Tick::Resend => tx.resend_last(),
                            Tick::GiveUp => {
                                tracing::info!(code, "no ACK for the final response (Timer H)");
                                tx.terminate();
                                return;
                            }
                        },
                    }
                }
                // Confirmed: Timer I absorbs ACK retransmissions.
                if !reliable {
                    sleep(t.t4).await;
                }
            } else if tx.invite {
                // RFC 6026 Timer L: absorb INVITE retransmissions after a 2xx.
                sleep(t.timeout()).await;
            } else if !reliable {
                // Timer J: answer request retransmissions from the final response.
                sleep(t.timeout()).await;
            }
            tx.terminate();
        });
    }
}

/// The TU's handle on a server transaction in its Proceeding state (§17.2.1,
/// §17.2.2), in the manner of ezk's typed transactions: provisional responses go
/// out through `&self` ([`Self::provisional`]), and the final response consumes
/// the handle ([`Self::respond`]), so code that answers twice does not compile.
///
/// Two things stay checked at run time: a CANCEL's 487 ([`ServerTx::cancel_with`])
/// comes from another task and may win the race, after which the handle's final
/// gets [`TxError::AlreadyFinal`]; and a response's class is its runtime code, so
/// a 1xx given as the final (or a final as a provisional) is refused with
/// [`TxError::NotFinal`] ([`TxError::NotProvisional`]).
///
/// If the handle is dropped before a final response was sent (a bug, a panic in
/// the call task, or a re-INVITE its call could not take), the caller still gets a
/// 500 rather than ringing until its own timer fires.
#[derive(Debug)]
pub struct ServerTxHandle(Arc<ServerTx>);

impl ServerTxHandle {
    /// A provisional (1xx) response; it may be repeated or followed by others.
    pub fn provisional(&self, resp: &Response) -> Result<(), TxError> {
        if resp.code >= 200 {
            return Err(TxError::NotProvisional(resp.code));
        }
        self.0.respond(resp)
    }

    /// The final response (2xx-6xx), which ends the TU's part in the transaction;
    /// retransmissions and ACKs are the transaction's (§17.2.1) or, after a 2xx, the
    /// dialog's (§13.3.1.4).
    pub fn respond(self, resp: &Response) -> Result<(), TxError> {
        if resp.code < 200 {
            return Err(TxError::NotFinal(resp.code));
        }
        self.0.respond(resp)
    }

    /// The flow the request came on; responses go back on it.
    pub fn flow(&self) -> &Flow {
        self.0.flow()
    }

    /// See [`ServerTx::to_tag`].
    pub fn to_tag(&self) -> &str {
        self.0.to_tag()
    }

    /// See [`ServerTx::request_headers`].
    pub fn request_headers(&self) -> &Headers {
        self.0.request_headers()
    }

    /// See [`ServerTx::add_sticky_header`].
    pub fn add_sticky_header(&self, name: &str, value: String) {
        self.0.add_sticky_header(name, value)
    }

    /// See [`ServerTx::sticky_headers`].
    pub fn sticky_headers(&self) -> Vec<(String, String)> {
        self.0.sticky_headers()
    }

    /// Name the dialplan action that took this INVITE: its final response is
    /// counted under it (the first name given stays).
    pub fn set_action(&self, action: &'static str) {
        let _ = self.0.action.set(action);
    }

    /// See [`ServerTx::final_response_sent`] (a CANCEL's 487 ends it too).
    pub async fn final_response_sent(&self) {
        self.0.final_response_sent().await
    }
}

impl Drop for ServerTxHandle {
    fn drop(&mut self) {
        if self.0.is_pending() {
            tracing::warn!(key = ?self.0.key, "transaction dropped without a final response; sending 500");
            let resp = message::response_for(&self.0.request_headers, 500, "", Some(&self.0.to_tag));
            let _ = self.0.respond(&resp);
        }
    }
}

/// What became of an incoming request.
#[derive(Debug)]
pub enum Incoming {
    /// A new server transaction for the TU.
    New(ServerTxHandle, Request),
    /// An ACK that belongs to a dialog, not a transaction (ACK for a 2xx, §17.1.1.3, §13.2.2.4).
    Ack(Request),
    /// A retransmission or an ACK for a non-2xx final: handled here.
    Absorbed,
    /// A new request refused because the table is full (`per_source`: for its source).
    OverLimit { per_source: bool, req: Box<Request>, flow: Flow },
}

/// The server transactions, and how many each source holds.
#[derive(Default)]
struct ServerTable {
    map: HashMap<TxKey, Arc<ServerTx>>,
    per_source: HashMap<IpAddr, usize>,
}

struct ClientEntry {
    method: Method,
    responses: mpsc::Sender<Response>,
}

/// The transaction table.
pub struct TransactionLayer {
    transport: Arc<Transport>,
    timers: Timers,
    limits: Limits,
    server: Mutex<ServerTable>,
    client: Mutex<HashMap<String, ClientEntry>>,
    /// Where INVITEs' final responses are counted.
    metrics: Arc<crate::metrics::Metrics>,
}

impl TransactionLayer {
    pub fn new(
        transport: Arc<Transport>,
        timers: Timers,
        limits: Limits,
        metrics: Arc<crate::metrics::Metrics>,
    ) -> Arc<Self> {
        Arc::new(TransactionLayer {
            transport,
            timers,
            limits,
            metrics,
            server: Mutex::new(ServerTable::default()),
            client: Mutex::new(HashMap::new()),
        })
    }

    pub fn timers(&self) -> Timers {
        self.timers
    }

    pub fn transport(&self) -> &Arc<Transport> {
        &self.transport
    }

    /// Live server transactions.
    pub fn server_count(&self) -> usize {
        lock(&self.server).map.len()
    }

    /// Match a request to a server transaction (§17.2.3), creating one if it is new.
    /// A new INVITE transaction answers 100 Trying at once (§17.2.1). `trusted`
    /// sources (configured trunks) are exempt from the per-source limit.
    pub fn on_request(self: &Arc<Self>, req: Request, flow: Flow, trusted: bool) -> Incoming {
        let key = TxKey::for_request(&req);
        let mut table = lock(&self.server);
        if let Some(tx) = table.map.get(&key).cloned() {
            drop(table);
            if req.method == Method::Ack {
                let mut inner = lock(&tx.inner);
                return match inner.state {
                    State::Completed => {
                        inner.state = State::Confirmed;
                        drop(inner);
                        tx.ack.notify_one();
                        Incoming::Absorbed
                    }
                    // RFC 6026 §8.7: an ACK matching an Accepted transaction goes to the TU
                    // (RFC 2543 peers reuse the INVITE's key for the ACK of a 2xx).
                    State::Accepted | State::Terminated => Incoming::Ack(req),
                    State::Proceeding | State::Confirmed => Incoming::Absorbed,
                };
            }
            tracing::debug!(method = %req.method, call_id = %req.call_id, "retransmission absorbed");
            let state = lock(&tx.inner).state;
            if state != State::Confirmed {
                tx.resend_last();
            }
            return Incoming::Absorbed;
        }
        if req.method == Method::Ack {
            return Incoming::Ack(req);
        }
        // Counted as the flood limiter counts sources: an IPv6 sender by its /64.
        let source = super::transport::source_of(flow.peer().ip());
        let held = table.per_source.get(&source).copied().unwrap_or(0);
        if table.map.len() >= self.limits.max_transactions {
            return Incoming::OverLimit { per_source: false, req: Box::new(req), flow };
        }
        if !trusted && held >= self.limits.max_transactions_per_source {
            return Incoming::OverLimit { per_source: true, req: Box::new(req), flow };
        }
        let (final_sent, _) = watch::channel(false);
        let tx = Arc::new(ServerTx {
            key: key.clone(),
            source,
            invite: req.method == Method::Invite,
            // §18.2.2 / RFC 3581: where responses go is decided by the top Via.
            flow: flow.response_flow(&req.via),
            to_tag: message::new_tag(),
            request_headers: req.headers.clone(),
            timers: self.timers,
            transport: self.transport.clone(),
            layer: Arc::downgrade(self),
            inner: Mutex::new(Inner { state: State::Proceeding, last_response: None }),
            ack: Notify::new(),
            final_sent,
            sticky: Mutex::new(Vec::new()),
            action: std::sync::OnceLock::new(),
        });
        table.map.insert(key, tx.clone());
        *table.per_source.entry(source).or_insert(0) += 1;
        drop(table);
        if tx.invite {
            let trying = message::response_for(&req.headers, 100, "Trying", None);
            if let Err(e) = tx.respond(&trying) {
                tracing::debug!(error = %e, "could not send 100 Trying");
            }
        }
        Incoming::New(ServerTxHandle(tx), req)
    }

    /// The INVITE server transaction `key` names, if it still exists.
    pub fn find(&self, key: &TxKey) -> Option<Arc<ServerTx>> {
        lock(&self.server).map.get(key).cloned()
    }

    /// Hand a response to the client transaction it belongs to (§17.1.3: top Via
    /// branch and CSeq method). Strays are dropped.
    pub fn on_response(&self, resp: Response) {
        let (Some(via), Some(cseq)) = (resp.via(), resp.cseq()) else {
            return;
        };
        let Some(branch) = via.branch() else { return };
        let table = lock(&self.client);
        match table.get(branch) {
            Some(entry) if entry.method == cseq.method => {
                let _ = entry.responses.try_send(resp);
            }
            _ => tracing::debug!(branch, code = resp.code, "response matches no client transaction"),
        }
    }

    /// Run a non-INVITE client transaction (§17.1.2): send `req` (whose top Via carries
    /// `branch`), retransmit over UDP on Timer E, and return the final response, or
    /// [`TxError::Timeout`] when Timer F fires.
    pub async fn request(&self, req: &OutgoingRequest, branch: &str, flow: &Flow) -> Result<Response, TxError> {
        let (tx, mut rx) = mpsc::channel(8);
        lock(&self.client).insert(branch.to_string(), ClientEntry { method: req.method.clone(), responses: tx });
        let _cleanup = ClientGuard { layer: self, branch };
        let bytes = req.to_bytes();
        self.transport.send(flow, bytes.clone())?;
        // Timer E retransmits (UDP only), Timer F gives up.
        let mut schedule = Retransmission::start(self.timers, !flow.is_reliable());
        loop {
            tokio::select! {
                r = rx.recv() => match r {
                    Some(resp) if resp.code >= 200 => return Ok(resp),
                    Some(_) => schedule.slow_down(),
                    None => return Err(TxError::Timeout),
                },
                tick = schedule.tick() => match tick {
                    Tick::Resend => {
                        if let Err(e) = self.transport.send(flow, bytes.clone()) {
                            tracing::debug!(error = %e, "request retransmission failed");
                        }
                    }
                    Tick::GiveUp => return Err(TxError::Timeout),
                },
            }
        }
    }
}

struct ClientGuard<'a> {
    layer: &'a TransactionLayer,
    branch: &'a str,
}

impl Drop for ClientGuard<'_> {
    fn drop(&mut self) {
        lock(&self.layer.client).remove(self.branch);
    }
}

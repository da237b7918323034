//! Interop with real third-party peers (SIP, and the mail relay) from Debian's packages, all on
//! loopback, each started by the test with its own temporary configuration and
//! killed when the test ends:
//!
//! * sipp (`sip-tester`) runs the scenarios in `tests/sipp/`: OPTIONS, late
//!   offer, lost ACK (retransmitted 200 OK), the caller's BYE in the middle of
//!   the announcement, "press 1" as RFC 4733 events, CANCEL while ringing, and
//!   a call through Kamailio;
//! * baresip places a call and records what it hears;
//! * Kamailio proxies in front of the gateway: Via stacking, Record-Route, and
//!   a P-Asserted-Identity the gateway believes because the proxy is a trunk.
//! * Postfix (`postfix.rs`) takes the gateway's mail over STARTTLS with a login (Dovecot
//!   checks it) and relays it to the callers' mailboxes (the simulator's SMTP
//!   sink), also across an outage.
//!
//! `scripts/test.sh` installs the packages. Nothing here asserts on time.

mod edge;
mod failover;
#[allow(dead_code)]
#[path = "../e2e/helpers.rs"]
mod helpers;
mod postfix;
/// The gateway binary as a child process (to kill it, in `failover`).
#[allow(dead_code)]
#[path = "../storage/process.rs"]
mod process;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use dialticket::calls::Calls;
use dialticket::media::Prompts;
use dialticket::sip::{self, CallDecision, CallHandler, HandlerFuture, IncomingCall, SipConfig};
use helpers::*;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A UDP port nobody uses right now (bound and released; good enough on loopback).
fn free_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0").and_then(|s| s.local_addr()).map(|a| a.port()).expect("free port")
}

/// An even free port with the next one free too (RTP + RTCP, as sipp's -mp wants).
fn free_media_port() -> u16 {
    loop {
        let p = free_port();
        if p % 2 == 0 && p < 65000 && std::net::UdpSocket::bind(("127.0.0.1", p + 1)).is_ok() {
            return p;
        }
    }
}

struct SippRun {
    out: Output,
    dir: tempfile::TempDir,
}

impl SippRun {
    fn messages(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("messages.log")).unwrap_or_default()
    }

    fn report(&self) -> String {
        let errors = std::fs::read_to_string(self.dir.path().join("errors.log")).unwrap_or_default();
        format!(
            "status {:?}\n--- stdout\n{}\n--- stderr\n{}\n--- errors\n{errors}\n--- messages\n{}",
            self.out.status,
            String::from_utf8_lossy(&self.out.stdout),
            String::from_utf8_lossy(&self.out.stderr),
            self.messages()
        )
    }

    fn assert_success(&self) {
        assert!(self.out.status.success(), "sipp failed:\n{}", self.report());
    }
}

/// Run one sipp scenario from `tests/sipp/` for one call to `target` and wait for it.
async fn sipp(target: SocketAddr, scenario: &str, service: &str, caller: &str) -> SippRun {
    let dir = tempfile::tempdir().expect("tempdir");
    let scenario = repo(&format!("tests/sipp/{scenario}"));
    let child = Command::new("sipp")
        .current_dir(dir.path())
        .arg(target.to_string())
        .args(["-sf", scenario.to_str().expect("path"), "-s", service, "-key", "caller", caller])
        .args(["-m", "1", "-l", "1", "-i", "127.0.0.1"])
        .args(["-p", &free_port().to_string(), "-mp", &free_media_port().to_string()])
        .args(["-nostdin", "-timeout", "60s", "-timeout_error"])
        .args(["-trace_msg", "-message_file", "messages.log", "-trace_err", "-error_file", "errors.log"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("sipp is installed (scripts/test.sh installs Debian's sip-tester)");
    let out = tokio::time::timeout(Duration::from_secs(90), child.wait_with_output())
        .await
        .expect("sipp finishes")
        .expect("sipp runs");
    SippRun { out, dir }
}

/// The blocks of a sipp message log, each a message with its direction line.
fn logged(messages: &str) -> Vec<(bool, String)> {
    messages
        .split("-----------------------------------------------")
        .filter_map(|block| {
            let received = block.contains("message received");
            let sent = block.contains("message sent");
            let start = block.find(":\n").map(|i| i + 2)?;
            (received || sent).then(|| (received, block[start..].trim_start().to_string()))
        })
        .collect()
}

#[tokio::test]
async fn sipp_options_gets_allow_accept_and_supported() {
    let gw = spawn_gateway().await;
    let run = sipp(gw.sip, "options_uac.xml", "442079460100", "+819000000001").await;
    run.assert_success();
    gw.stop().await;
}

#[tokio::test]
async fn sipp_late_offer_is_answered_in_the_ack() {
    let gw = spawn_gateway().await;
    let caller = "+819000000002";
    let run = sipp(gw.sip, "late_offer_uac.xml", "442079460100", caller).await;
    run.assert_success();
    gw.mail(caller, "purchase link").await;
    gw.stop().await;
}

#[tokio::test]
async fn sipp_lost_ack_gets_the_200_retransmitted() {
    let gw = spawn_gateway().await;
    let caller = "+819000000003";
    let run = sipp(gw.sip, "lost_ack_uac.xml", "442079460100", caller).await;
    run.assert_success();
    let oks = logged(&run.messages())
        .into_iter()
        .filter(|(received, m)| *received && m.starts_with("SIP/2.0 200") && m.contains("CSeq: 1 INVITE"))
        .count();
    // Sent at 0, retransmitted at 0.5 s and 1.5 s while sipp sat on it (RFC 3261 §13.3.1.4).
    assert!(oks >= 3, "the 200 OK came {oks} times:\n{}", run.report());
    gw.stop().await;
}

#[tokio::test]
async fn sipp_caller_hangs_up_mid_announcement() {
    let gw = spawn_gateway().await;
    let caller = "+819000000004";
    let run = sipp(gw.sip, "bye_uac.xml", "442079460100", caller).await;
    run.assert_success();
    let from_gateway = logged(&run.messages()).into_iter().filter(|(r, m)| *r && m.starts_with("BYE ")).count();
    assert_eq!(from_gateway, 0, "the gateway sent a BYE after ours:\n{}", run.report());
    gw.stop().await;
}

#[tokio::test]
async fn sipp_press_1_over_rtp_resends_the_link() {
    let gw = spawn_gateway().await;
    let caller = "+819000000005";
    let run = sipp(gw.sip, "dtmf_uac.xml", "442079460100", caller).await;
    run.assert_success();
    // One mail for the call, one for "1" — even though the key's end packet came three times.
    assert_eq!(gw.mails_at_least(caller, "purchase link", 2).await.len(), 2, "{:?}", gw.subjects());
    // Nothing more is on its way: the outbox holds nothing pending or sending.
    gw.settle().await;
    assert_eq!(gw.mails(caller, "purchase link").len(), 2);
    gw.stop().await;
}

/// The real ticket logic, deciding slowly (a database under load): the caller
/// has time to give up while the INVITE is still unanswered.
struct Slow(Calls);

impl CallHandler for Slow {
    fn handle(&self, call: IncomingCall) -> HandlerFuture<CallDecision> {
        let decide = self.0.handle(call);
        Box::pin(async move {
            tokio::time::sleep(Duration::from_secs(2)).await;
            decide.await
        })
    }
}

#[tokio::test]
async fn sipp_cancel_while_ringing_gets_487() {
    let gw = spawn_gateway().await;
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = udp.local_addr().unwrap();
    let prompts = Arc::new(Prompts::load(&repo("prompts")).expect("prompts"));
    let config = SipConfig::new(gw.app.dialplan.clone(), prompts, "127.0.0.1".parse().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let endpoint = tokio::spawn(sip::serve(udp, tcp, config, Arc::new(Slow(Calls::new(gw.app.clone()))), async {
        let _ = stopped.await;
    }));
    let run = sipp(addr, "cancel_uac.xml", "442079460100", "+819000000006").await;
    run.assert_success();
    let log = logged(&run.messages());
    assert!(log.iter().any(|(r, m)| *r && m.starts_with("SIP/2.0 487")), "{}", run.report());
    assert!(!log.iter().any(|(r, m)| *r && m.starts_with("SIP/2.0 200") && m.contains("CSeq: 1 INVITE")));
    let _ = stop.send(());
    let _ = endpoint.await;
    gw.stop().await;
}

/// Debian installs Kamailio's modules under the multiarch directory.
fn kamailio_modules() -> PathBuf {
    std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path().join("kamailio/modules")))
        .find(|p| p.join("tm.so").exists())
        .unwrap_or_else(|| PathBuf::from("/usr/lib/x86_64-linux-gnu/kamailio/modules"))
}

/// A child process in its own process group, stopped (TERM, then KILL) on drop.
struct Peer {
    child: Child,
    name: &'static str,
}

impl Peer {
    fn spawn(name: &'static str, cmd: &mut Command) -> Peer {
        cmd.process_group(0).stdin(Stdio::null()).kill_on_drop(true);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("{name} is installed (scripts/test.sh installs it): {e}"));
        Peer { child, name }
    }

    fn signal(&self, sig: &str) {
        if let Some(pid) = self.child.id() {
            // The whole group: Kamailio forks its workers.
            let _ = std::process::Command::new("kill").args([sig, "--", &format!("-{pid}")]).status();
        }
    }

    /// Ask it to stop and wait (its files are flushed on a clean exit).
    async fn stop(mut self) {
        self.signal("-TERM");
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await.is_err() {
            eprintln!("{} did not stop on TERM; killing", self.name);
            self.signal("-KILL");
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.signal("-KILL");
        }
    }
}

/// 16-bit PCM samples of a WAV file written by baresip's sndfile module.
fn wav_samples(path: &Path) -> Vec<i16> {
    let bytes = std::fs::read(path).unwrap_or_default();
    let Some(data) = bytes.windows(4).position(|w| w == b"data") else { return Vec::new() };
    bytes[(data + 8).min(bytes.len())..].chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])).collect()
}

/// A port baresip can listen on: it binds UDP and TCP on it and, with no way to
/// turn TLS off in 1.0, TLS on the next port up; all three must be free.
fn free_baresip_port() -> u16 {
    loop {
        let p = free_port();
        let free = p < 65000
            && std::net::TcpListener::bind(("127.0.0.1", p)).is_ok()
            && std::net::TcpListener::bind(("127.0.0.1", p + 1)).is_ok();
        if free {
            return p;
        }
    }
}

#[tokio::test]
async fn baresip_calls_and_hears_the_announcement() {
    let gw = spawn_gateway().await;
    let caller = "+819000000007";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("accounts"), format!("<sip:{caller}@127.0.0.1>;regint=0;audio_codecs=PCMU\n"))
        .unwrap();
    // Other tests in this binary bind ports too: if one takes baresip's between
    // the check and its bind, baresip says "init failed" and exits; we try new ports.
    let mut attempt = 0;
    let (peer, seen, ended) = loop {
        attempt += 1;
        let sip_port = free_baresip_port();
        let rtp_port = free_media_port();
        // No sound card: aubridge is a null player (and source); sndfile records the decoded audio.
        let config = format!(
            "poll_method\tepoll\nsip_listen\t127.0.0.1:{sip_port}\nsip_transports\tudp\n\
             audio_player\taubridge,x\naudio_source\taubridge,x\naudio_alert\taubridge,x\n\
             audio_srate\t8000\naudio_channels\t1\nrtp_ports\t{rtp_port}-{}\n\
             module_path\t/usr/lib/baresip/modules\nmodule\tg711.so\nmodule\taubridge.so\nmodule\tsndfile.so\n\
             module_app\taccount.so\nmodule_app\tmenu.so\nsnd_path\t{}\n",
            rtp_port + 10,
            dir.path().display()
        );
        std::fs::write(dir.path().join("config"), config).unwrap();
        let mut peer = Peer::spawn(
            "baresip",
            Command::new("baresip")
                .arg("-f")
                .arg(dir.path())
                .arg("-e")
                .arg(format!("/dial sip:+442079460100@{}", gw.sip))
                .args(["-t", "60"])
                .stdout(Stdio::piped())
                .stderr(Stdio::null()),
        );
        let stdout = peer.child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut seen = Vec::new();
        // The gateway plays the announcement and the menu, waits for a key, and hangs up.
        let ended = tokio::time::timeout(Duration::from_secs(45), async {
            while let Ok(Some(line)) = lines.next_line().await {
                let done = line.contains("terminated");
                let init_failed = line.contains("init failed");
                seen.push(line);
                if done || init_failed {
                    return done;
                }
            }
            false
        })
        .await
        .unwrap_or(false);
        let init_failed = seen.iter().any(|l| l.contains("init failed"));
        if init_failed && attempt < 5 {
            peer.stop().await;
            continue;
        }
        break (peer, seen, ended);
    };
    peer.stop().await;
    assert!(ended, "baresip's call did not end with the gateway's BYE:\n{}", seen.join("\n"));
    assert!(seen.iter().any(|l| l.contains("Call established")), "{}", seen.join("\n"));
    gw.mail(caller, "purchase link").await;

    let recording: PathBuf = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.to_string_lossy().ends_with("-dec.wav"))
        .unwrap_or_else(|| panic!("no recording of the received audio:\n{}", seen.join("\n")));
    let samples = wav_samples(&recording);
    // What it heard: the prompts are speech, seconds of it, well above silence.
    let loud = samples.chunks(160).filter(|f| f.iter().map(|&s| i32::from(s).abs()).max().unwrap_or(0) > 1000).count();
    assert!(loud * 20 >= 2000, "only {} ms of audible audio in {} samples", loud * 20, samples.len());
    gw.stop().await;
}

/// Where a Kamailio proxy sends new requests.
enum Relay<'a> {
    /// Everything to one gateway.
    To(SocketAddr),
    /// Round-robin over a dispatcher set (the dispatcher module is loaded for it).
    Dispatch(&'a [SocketAddr]),
}

/// Kamailio as a record-routing proxy on a free loopback port in front of the
/// gateway(s) of `relay`; `head` is extra configuration (loadmodule/modparam
/// lines) and `invite` script run on each initial INVITE before it is relayed
/// (e.g. asserting or signing the caller's identity). Returns once the proxy
/// relays an OPTIONS to a gateway.
async fn start_kamailio(relay: Relay<'_>, dir: &Path, head: &str, invite: &str) -> (Peer, SocketAddr) {
    let port = free_port();
    let (loads, route) = match relay {
        Relay::To(gw) => (head.to_string(), format!("$du = \"sip:{gw}\";")),
        Relay::Dispatch(gws) => {
            let list: String = gws.iter().map(|gw| format!("1 sip:{gw}\n")).collect();
            let list_file = dir.join("dispatcher.list");
            std::fs::write(&list_file, list).unwrap();
            let head = format!(
                "{head}loadmodule \"dispatcher.so\"\nmodparam(\"dispatcher\", \"list_file\", \"{}\")\n",
                list_file.display()
            );
            // Algorithm 4: round-robin over set 1.
            let route = "if (!ds_select_dst(\"1\", \"4\")) { sl_send_reply(\"503\", \"No gateway\"); exit; }";
            (head, route.to_string())
        }
    };
    // Kamailio's grammar has no empty blocks.
    let invite = if invite.trim().is_empty() {
        String::new()
    } else {
        format!("    if (is_method(\"INVITE\")) {{\n{invite}\n    }}")
    };
    let cfg = format!(
        r#"#!KAMAILIO
debug=2
log_stderror=yes
children=1
disable_tcp=yes
auto_aliases=no
listen=udp:127.0.0.1:{port}
mpath="{mpath}/"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
{loads}
request_route {{
    if (!mf_process_maxfwd_header("10")) {{ sl_send_reply("483", "Too Many Hops"); exit; }}
    if (has_totag()) {{
        if (loose_route()) {{ t_relay(); exit; }}
        if (is_method("ACK")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
        sl_send_reply("404", "Not here"); exit;
    }}
    if (is_method("CANCEL")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
{invite}
    record_route();
    {route}
    t_relay();
}}
"#,
        mpath = kamailio_modules().display()
    );
    let proxy: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    (run_kamailio(&cfg, dir, proxy).await, proxy)
}

/// Kamailio with configuration `cfg` (written to `dir`, its log beside it),
/// listening on `proxy`; returns once our sipp OPTIONS goes through it to a gateway.
async fn run_kamailio(cfg: &str, dir: &Path, proxy: SocketAddr) -> Peer {
    let cfg_path = dir.join("kamailio.cfg");
    std::fs::write(&cfg_path, cfg).unwrap();
    let log = std::fs::File::create(dir.join("kamailio.log")).unwrap();
    // -Y and -P must be absolute: Kamailio changes directory to /.
    let mut peer = Peer::spawn(
        "kamailio",
        Command::new("kamailio")
            .arg("-f")
            .arg(&cfg_path)
            .args(["-DD", "-E", "-m", "32", "-M", "8", "-Y"])
            .arg(dir)
            .arg("-P")
            .arg(dir.join("kamailio.pid"))
            .stdout(Stdio::null())
            .stderr(log),
    );
    let log = || std::fs::read_to_string(dir.join("kamailio.log")).unwrap_or_default();
    for _ in 0..50 {
        if let Ok(Some(status)) = peer.child.try_wait() {
            panic!("Kamailio exited ({status}):\n{}", log());
        }
        if sipp(proxy, "options_uac.xml", "442079460100", "+819000000009").await.out.status.success() {
            return peer;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("Kamailio did not come up:\n{}", log());
}

#[tokio::test]
async fn kamailio_in_front_routes_both_ways_and_asserts_the_caller() {
    let gw = spawn_gateway().await;
    let dir = tempfile::tempdir().unwrap();
    let asserted = "+819000000088";
    // A proxy that asserts the caller's identity (RFC 3325); the default dialplan trusts loopback.
    let invite = format!(
        "        remove_hf(\"P-Asserted-Identity\");\n        \
         append_hf(\"P-Asserted-Identity: <sip:{asserted}@proxy.example>\\r\\n\");"
    );
    let (peer, proxy) = start_kamailio(Relay::To(gw.sip), dir.path(), "", &invite).await;
    let port = proxy.port();
    let run = sipp(proxy, "proxy_uac.xml", "442079460100", "+819000000008").await;
    run.assert_success();
    let log = logged(&run.messages());
    // The 200 OK carries the proxy's Record-Route (§12.1.1), so the ACK has a Route to it.
    let ok = log.iter().find(|(r, m)| *r && m.starts_with("SIP/2.0 200")).map(|(_, m)| m.clone()).unwrap_or_default();
    assert!(ok.contains(&format!("Record-Route: <sip:127.0.0.1:{port};lr")), "{ok}\n{}", run.report());
    let ack = log.iter().find(|(r, m)| !*r && m.starts_with("ACK ")).map(|(_, m)| m.clone()).unwrap_or_default();
    assert!(ack.contains(&format!("Route: <sip:127.0.0.1:{port};lr")), "{ack}");
    // The gateway's BYE came back through the proxy: its Via under the proxy's.
    let bye = log.iter().find(|(r, m)| *r && m.starts_with("BYE ")).map(|(_, m)| m.clone()).unwrap_or_default();
    let vias: Vec<&str> = bye.lines().filter(|l| l.starts_with("Via:")).collect();
    assert_eq!(vias.len(), 2, "{bye}");
    assert!(vias[0].contains(&format!("127.0.0.1:{port}")), "proxy on top: {bye}");
    assert!(vias[1].contains(&gw.sip.to_string()), "then the gateway: {bye}");
    // The proxy is a trusted trunk: the link goes to the asserted number, not sipp's From.
    gw.mail(asserted, "purchase link").await;
    assert!(gw.mails("+819000000008", "purchase link").is_empty());
    peer.stop().await;
    gw.stop().await;
}

#[tokio::test]
async fn kamailio_signs_with_secsipid_and_the_gateway_verifies_the_passport() {
    let dir = tempfile::tempdir().unwrap();
    make_sti_ca(dir.path(), "carrier");
    let x5u = "https://sti.carrier.example/sp.pem";
    let trust = stir_trust_dir(dir.path(), &["carrier"], &[(x5u, "carrier")]);
    // The shipped dialplan plus a number that takes only A-attested, verified callers.
    let plans = dir.path().join("dialplans");
    std::fs::create_dir_all(&plans).unwrap();
    std::fs::copy(repo("dialplans/default.toml"), plans.join("default.toml")).unwrap();
    let verified = "+442079460170";
    std::fs::write(
        plans.join("verified.toml"),
        format!("[[numbers]]\nnumber = \"{verified}\"\naction = \"purchase\"\nanswer = \"announce\"\nidentity = \"verified\"\n"),
    )
    .unwrap();
    let gw = spawn_gateway_with(move |c| {
        c.dialplans = plans;
        c.stir_trust_dir = Some(trust);
    })
    .await;

    // Kamailio as the originating carrier's signing proxy (kamailio-secsipid-modules):
    // it drops whatever Identity the caller sent and signs From → Request-URI with
    // attestation A. PASSporT numbers are digits only, so a leading '+' is stripped.
    let key = dir.path().join("carrier-sp.key");
    let invite = format!(
        r#"        remove_hf("Identity");
        $var(orig) = $fU;
        $var(dest) = $rU;
        if ($(var(orig){{s.substr,0,1}}) == "+") {{ $var(orig) = $(var(orig){{s.substr,1,0}}); }}
        if ($(var(dest){{s.substr,0,1}}) == "+") {{ $var(dest) = $(var(dest){{s.substr,1,0}}); }}
        if (!secsipid_add_identity("$var(orig)", "$var(dest)", "A", "", "{x5u}", "{key}")) {{
            xlog("L_ERR", "STIR-SIGN-FAILED $ci\n");
            sl_send_reply("500", "Identity signing failed");
            exit;
        }}"#,
        key = key.display()
    );
    let head = "loadmodule \"xlog.so\"\nloadmodule \"secsipid.so\"\n";
    let (peer, proxy) = start_kamailio(Relay::To(gw.sip), dir.path(), head, &invite).await;
    let caller = "+819000000077";
    let run = sipp(proxy, "proxy_uac.xml", "442079460170", caller).await;
    let kam_log = std::fs::read_to_string(dir.path().join("kamailio.log")).unwrap_or_default();
    assert!(!kam_log.contains("STIR-SIGN-FAILED"), "{kam_log}");
    run.assert_success();
    let log = logged(&run.messages());
    assert!(log.iter().any(|(r, m)| *r && m.starts_with("SIP/2.0 200")), "answered: {}", run.report());
    gw.mail(caller, "purchase link").await;
    peer.stop().await;

    // What the gateway recorded: the From number, vouched for by the carrier's PASSporT
    // (so its purchase link counts against the proven caller's cap).
    let records = gw.app.store.journal_all().await.unwrap();
    let call_id = records
        .iter()
        .find(|j| j.action == "purchase-link-sent-proven")
        .and_then(|j| j.actor.strip_prefix("call:"))
        .expect("the call is in the journal")
        .to_string();
    let record = gw.app.store.call_identity(&format!("{call_id} 1")).await.unwrap().expect("call record");
    assert_eq!((record.caller.as_str(), record.attestation.as_deref()), (caller, Some("A")), "{record:?}");
    assert!(record.verification.contains(x5u), "{record:?}");

    // Straight to the gateway, without the carrier's signature, the same number is refused.
    let direct = gw.call(caller, verified).await;
    assert_eq!((direct.final_status, direct.final_reason.as_str()), (428, "Use Identity Header"), "{direct:?}");
    gw.stop().await;
}

/// The deployment of `compose.yaml`, on loopback: Kamailio dispatching calls
/// round-robin to two gateways that share one PostgreSQL database and one
/// link-signing key. Calls land on both, every caller gets one purchase link,
/// and a link mailed by one gateway opens on the other.
#[tokio::test]
async fn kamailio_balances_two_gateways_sharing_one_postgres() {
    let Some((url, _db)) = fresh_database("postgres").await else { return };
    let (a, b, _keys) = spawn_two_gateways(&url).await;
    let dir = tempfile::tempdir().unwrap();
    let (peer, proxy) = start_kamailio(Relay::Dispatch(&[a.sip, b.sip]), dir.path(), "", "").await;

    let callers: Vec<String> = (0..6).map(|i| format!("+8190444400{i:02}")).collect();
    for caller in &callers {
        sipp(proxy, "proxy_uac.xml", "442079460100", caller).await.assert_success();
    }
    peer.stop().await;

    // Round-robin: both gateways took calls; each caller got exactly one link.
    for caller in &callers {
        let mut got = 0;
        for _ in 0..150 {
            got = a.mails(caller, "purchase link").len() + b.mails(caller, "purchase link").len();
            if got > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(got, 1, "{caller}: one purchase link from one of the gateways");
    }
    let served_a = callers.iter().filter(|c| !a.mails(c, "purchase link").is_empty()).count();
    assert!(served_a > 0 && served_a < callers.len(), "round-robin: {served_a} of {} on gateway A", callers.len());

    // One database, one key: a link mailed by A opens on B, and B sees A's callers.
    let caller = callers.iter().find(|c| !a.mails(c, "purchase link").is_empty()).expect("a call on A");
    let mail = a.mail(caller, "purchase link").await;
    let link = a.link(&mail, "/p/");
    let on_b = link.replacen(&a.base, &b.base, 1);
    let (status, page) = b.get(&on_b).await;
    assert_eq!(status, 200, "{page}");
    let user = b.app.store.phone_user(&dialticket::phone::PhoneNumber::parse(caller).unwrap()).await.unwrap();
    assert!(user.is_some(), "gateway B reads the caller gateway A registered");
    a.stop().await;
    b.stop().await;
}

/// The files `compose.yaml` mounts are valid: Kamailio's configuration passes
/// `kamailio -c` (modules and dispatcher list from this machine and the repo),
/// and the image's dialplans plus the compose trunk pass `dialplan check`.
#[test]
fn the_compose_deployment_configuration_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = std::fs::read_to_string(repo("deploy/kamailio/kamailio.cfg")).unwrap();
    let list = repo("deploy/kamailio/dispatcher.list");
    let cfg = cfg.replace("/etc/kamailio/dispatcher.list", &list.display().to_string()).replacen(
        "debug=2",
        &format!("debug=2\nmpath=\"{}/\"", kamailio_modules().display()),
        1,
    );
    let path = dir.path().join("kamailio.cfg");
    std::fs::write(&path, cfg).unwrap();
    let out = std::process::Command::new("kamailio").arg("-c").arg("-f").arg(&path).output().expect("kamailio");
    assert!(out.status.success(), "kamailio -c: {}", String::from_utf8_lossy(&out.stderr));

    let plans = dir.path().join("dialplans");
    std::fs::create_dir_all(&plans).unwrap();
    for file in [repo("dialplans/default.toml"), repo("deploy/dialplans/compose-trunks.toml")] {
        std::fs::copy(&file, plans.join(file.file_name().unwrap())).unwrap();
    }
    let plan = dialticket::dialplan::Dialplan::load_dir(&plans).expect("the compose dialplans load");
    let edge = plan.trunk_for("172.28.0.5".parse().unwrap()).expect("Kamailio is a trunk");
    assert!(edge.trust_pai);

    // The gateways' settings there parse as the gateway would read them.
    let compose = std::fs::read_to_string(repo("compose.yaml")).unwrap();
    let rtp_ports: Vec<&str> = compose
        .lines()
        .filter_map(|l| l.trim().strip_prefix("DIALTICKET_RTP_PORTS:"))
        .map(|v| v.trim().trim_matches('"'))
        .collect();
    assert_eq!(rtp_ports.len(), 2, "one RTP port range per gateway");
    for v in rtp_ports {
        v.parse::<dialticket::config::PortRange>().unwrap_or_else(|e| panic!("DIALTICKET_RTP_PORTS {v}: {e}"));
    }
}

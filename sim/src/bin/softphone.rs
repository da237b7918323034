//! `softphone`: the simulator on the command line.
//!
//! * `softphone call --from +819012345678 --to +442079460100 --gateway 127.0.0.1:5060`
//!   places a call and prints a report (exit 0 if a final response came back).
//! * `softphone mailbox --listen 127.0.0.1:2525` runs the SMTP sink and prints
//!   every mail as it arrives, until Ctrl-C.
//! * `softphone open URL` fetches a page as JSON and pretty-prints it.
//!
//! Set `RUST_LOG=dialticket_sim=debug` to see every SIP/SMTP message.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, Context};
use clap::{Parser, Subcommand};
use dialticket_sim::sip::{place_call, CallOptions, CallReport, Transport};
use dialticket_sim::smtp::SmtpSink;
use dialticket_sim::web::Browser;

#[derive(Parser)]
#[command(name = "softphone", version, about = "dialticket softphone simulator")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per run; boxing the big variant would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Place a SIP call and print what happened.
    Call {
        /// Caller number (From user part), e.g. +819012345678.
        #[arg(long)]
        from: String,
        /// Dialled number, e.g. +442079460100.
        #[arg(long)]
        to: String,
        /// Gateway SIP address.
        #[arg(long, default_value = "127.0.0.1:5060")]
        gateway: SocketAddr,
        /// Add P-Asserted-Identity with this number (or sip:/tel: URI).
        #[arg(long)]
        pai: Option<String>,
        /// Withhold caller ID (anonymous From, Privacy: id).
        #[arg(long)]
        anonymous: bool,
        /// Use TCP instead of UDP.
        #[arg(long)]
        tcp: bool,
        /// Hang up this many seconds after the answer if the gateway has not.
        #[arg(long, value_name = "SECS")]
        hangup_after: Option<f64>,
        /// Keys to press once answered (RFC 4733 in the RTP stream): the first
        /// half a second after the answer, then one a second; e.g. `--press 1`.
        #[arg(long, value_name = "DIGITS", value_parser = digits)]
        press: Option<String>,
        /// Extra INVITE header, "Name: value" (repeatable).
        #[arg(long = "header", value_name = "NAME: VALUE")]
        headers: Vec<String>,
        /// Overall limit for the call, in seconds.
        #[arg(long, value_name = "SECS", default_value_t = 30.0)]
        timeout: f64,
        /// Local address to bind SIP and RTP sockets to.
        #[arg(long, default_value = "127.0.0.1")]
        local_ip: IpAddr,
        /// Send the INVITE without an SDP offer.
        #[arg(long)]
        no_sdp: bool,
        /// Sign a STIR/SHAKEN PASSporT (From → To) with this EC P-256 key (PEM) and
        /// add it as the Identity header, as an originating carrier would.
        #[arg(long, value_name = "KEY.pem", requires = "x5u")]
        sign_key: Option<std::path::PathBuf>,
        /// The certificate URL the PASSporT names (x5u, and the header's info).
        #[arg(long, value_name = "URL")]
        x5u: Option<String>,
        /// Attestation of the PASSporT: A, B or C.
        #[arg(long, default_value = "A", value_parser = ["A", "B", "C"])]
        attest: String,
    },
    /// Run an SMTP sink and print each mail as it arrives.
    Mailbox {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:2525")]
        listen: SocketAddr,
    },
    /// GET a URL with Accept: application/json and pretty-print the answer.
    Open {
        /// The page URL.
        url: String,
    },
}

fn seconds(s: f64, what: &str) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(s).map_err(|e| anyhow!("bad {what} {s}: {e}"))
}

/// Print the report; a closed stdout (`softphone call … | head -3`) is not an error.
fn print_report(r: &CallReport) {
    use std::fmt::Write as _;
    let mut out = String::new();
    let outcome = if r.answered { "answered" } else { "not answered" };
    let _ = writeln!(out, "call-id:       {}", r.call_id);
    let _ = writeln!(out, "final:         {} {} ({outcome})", r.final_status, r.final_reason);
    let prov: Vec<String> = r.provisional.iter().map(u16::to_string).collect();
    let _ = writeln!(out, "provisional:   {}", if prov.is_empty() { "-".to_string() } else { prov.join(", ") });
    let _ = writeln!(out, "setup time:    {} ms", r.setup_time.as_millis());
    let _ = writeln!(
        out,
        "rtp:           {} packets, {} payload bytes, payload types {:?}",
        r.rtp_packets, r.rtp_bytes, r.rtp_payload_types
    );
    if r.answered {
        let who = if r.bye_from_gateway { "gateway" } else { "softphone" };
        let _ = writeln!(out, "hung up by:    {who}");
    }
    let _ = writeln!(out, "duration:      {} ms", r.duration.as_millis());
    for (name, value) in &r.response_headers {
        let _ = writeln!(out, "  {name}: {value}");
    }
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), out.as_bytes());
}

async fn call(cmd: Command) -> anyhow::Result<ExitCode> {
    let Command::Call {
        from,
        to,
        gateway,
        pai,
        anonymous,
        tcp,
        hangup_after,
        press,
        headers,
        timeout,
        local_ip,
        no_sdp,
        sign_key,
        x5u,
        attest,
    } = cmd
    else {
        return Err(anyhow!("not a call command"));
    };
    let identity = match (sign_key, x5u) {
        (Some(key), Some(x5u)) => {
            let pem = std::fs::read(&key).with_context(|| format!("--sign-key {}", key.display()))?;
            Some(dialticket_sim::stir::Passport::new(&from, &to, &attest).sign(&pem, &x5u)?)
        }
        _ => None,
    };
    let mut opts = CallOptions::new(gateway, from, to);
    opts.pai = pai;
    opts.anonymous = anonymous;
    opts.transport = if tcp { Transport::Tcp } else { Transport::Udp };
    opts.hangup_after = hangup_after.map(|s| seconds(s, "--hangup-after")).transpose()?;
    opts.timeout = seconds(timeout, "--timeout")?;
    opts.local_ip = local_ip;
    opts.offer_sdp = !no_sdp;
    if let Some(keys) = press {
        opts.press = dialticket_sim::dtmf::KeyPress::sequence(Duration::from_millis(500), &keys);
    }
    opts.extra_headers.extend(identity.map(|v| ("Identity".to_string(), v)));
    for h in headers {
        let (name, value) = h.split_once(':').ok_or_else(|| anyhow!("--header {h:?}: expected \"Name: value\""))?;
        opts.extra_headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    match place_call(opts).await {
        Ok(report) => {
            print_report(&report);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("call failed: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn mailbox(listen: SocketAddr) -> anyhow::Result<ExitCode> {
    let sink = SmtpSink::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    println!("SMTP sink listening on {} (Ctrl-C to stop)", sink.addr());
    let started = std::time::Instant::now();
    let mut seen = 0usize;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {
                println!("{seen} mail(s) received");
                return Ok(ExitCode::SUCCESS);
            }
            r = sink.wait_for_count(seen + 1, Duration::from_secs(3600)) => {
                let Ok(all) = r else { continue };
                for m in &all[seen..] {
                    println!("--- mail #{} at +{:.1}s", seen + 1, m.received_at.duration_since(started).as_secs_f64());
                    println!("to:      {}", m.envelope_to.join(", "));
                    println!("from:    {}", m.envelope_from);
                    println!("subject: {}", m.subject);
                    for l in m.links.iter().chain(m.tel_links.iter()) {
                        println!("link:    {l}");
                    }
                    seen += 1;
                }
            }
        }
    }
}

async fn open(url: &str) -> anyhow::Result<ExitCode> {
    match Browser::new().get_json(url).await {
        Ok((status, json)) => {
            println!("HTTP {status}");
            println!("{}", serde_json::to_string_pretty(&json)?);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("open failed: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Mailbox { listen } => mailbox(listen).await,
        Command::Open { url } => open(&url).await,
        cmd @ Command::Call { .. } => call(cmd).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("softphone: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `--press`: DTMF digits only (0-9, *, #, A-D).
fn digits(s: &str) -> Result<String, String> {
    match s.chars().all(|c| dialticket_sim::dtmf::event_code(c).is_some()) {
        true => Ok(s.to_string()),
        false => Err(format!("{s:?}: digits 0-9, *, #, A-D only")),
    }
}

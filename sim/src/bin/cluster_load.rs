//! `cluster-load`: the HTTP and mail side of `scripts/bench-cluster.sh` (issue 22).
//!
//! * `cluster-load sink --listen 127.0.0.1:2525 --out mails.jsonl` runs the SMTP
//!   sink the gateways deliver to and writes one JSON line per mail as it
//!   arrives (`id`: Message-ID, `to`: envelope recipients, `subject`, `link`: the
//!   purchase link `/p/…` if the mail has one), keeping none in memory. The script
//!   counts the lines (by Message-ID, by recipient and subject) and hands the
//!   links to the buyers.
//! * `cluster-load buyers --links buyers.txt --bases http://a,http://b --event ID
//!   --concurrency 32 --seconds 10 --out result.json` runs buyers through the real
//!   pages: each opens its purchase link (the shop, JSON as the simulator's
//!   browser asks for it), the event's page, and posts its order form (the form
//!   token the page gave, one seat, a sandbox card). Closed loop: `concurrency`
//!   buyers at a time until `seconds` pass or the links run out. With
//!   `--arrive-over S` (the rush), every link is a buyer and buyer `i` arrives at
//!   `i * S / n`, at most `concurrency` of them in flight (a later one waits for
//!   a slot, and the wait counts in its answer's time).
//!
//! A buyer's answer is "bought" (200, paid), "sold out" (the event page says so
//! and offers no form, or the form comes back with 422 on the quantity: fewer
//! seats left than asked for) or a failure (anything else, a timeout included).
//! Each buyer's link is sent to `bases[i % n]`: the gateways share the signing
//! key, so either opens any link, as behind an HTTP load balancer.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use clap::{Parser, Subcommand};
use dialticket_sim::smtp::SmtpSink;
use dialticket_sim::web::Browser;
use serde_json::{json, Value};

#[derive(Parser)]
#[command(name = "cluster-load", about = "SMTP sink and page buyers for scripts/bench-cluster.sh")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per run; boxing the big variant would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run the SMTP sink; one JSON line per mail to `out`, until killed.
    Sink {
        #[arg(long)]
        listen: SocketAddr,
        #[arg(long)]
        out: PathBuf,
    },
    /// Buyers through the pages; a JSON summary to `out`.
    Buyers {
        /// Lines "PHONE LINK": the buyer's phone and its purchase link.
        #[arg(long)]
        links: PathBuf,
        /// The gateways' public base URLs, comma-separated.
        #[arg(long, value_delimiter = ',')]
        bases: Vec<String>,
        #[arg(long)]
        event: String,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Closed loop: stop starting buyers after this many seconds.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Open loop (the rush): every link a buyer, arriving evenly over this many seconds.
        #[arg(long)]
        arrive_over: Option<f64>,
        /// Give up on the buyers still waiting after this many seconds (they count as failures).
        #[arg(long, default_value_t = 120.0)]
        deadline: f64,
        #[arg(long)]
        out: PathBuf,
        /// Lines "PHONE SEAT" of the buyers who bought.
        #[arg(long)]
        bought: Option<PathBuf>,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        match cli.command {
            Command::Sink { listen, out } => sink(listen, out).await,
            Command::Buyers { links, bases, event, concurrency, seconds, arrive_over, deadline, out, bought } => {
                let plan = Plan { bases, event, concurrency, seconds, arrive_over, deadline };
                let result = buyers(&links, plan, bought).await?;
                std::fs::write(&out, serde_json::to_vec_pretty(&result)?)?;
                println!("{result}");
                Ok(())
            }
        }
    })
}

async fn sink(listen: SocketAddr, out: PathBuf) -> anyhow::Result<()> {
    let sink = SmtpSink::bind(listen).await.context("bind the SMTP sink")?;
    let mut file = std::io::BufWriter::new(std::fs::File::create(&out)?);
    loop {
        let mails = sink.take_messages();
        for m in &mails {
            let link = m.links.iter().find(|l| l.contains("/p/"));
            let line = json!({"id": m.message_id, "to": m.envelope_to, "subject": m.subject, "link": link});
            writeln!(file, "{line}")?;
        }
        file.flush()?;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

struct Plan {
    bases: Vec<String>,
    event: String,
    concurrency: usize,
    seconds: f64,
    arrive_over: Option<f64>,
    deadline: f64,
}

enum Answer {
    Bought(String),
    SoldOut,
    Failed(String),
}

struct Done {
    phone: String,
    answer: Answer,
    /// From the buyer's arrival to its answer.
    took: Duration,
    /// The order POST alone (none when the event page already said sold out).
    post: Option<Duration>,
}

/// `link` with its scheme, host and port replaced by `base`.
fn rebase(link: &str, base: &str) -> String {
    match link.find("/p/") {
        Some(i) => format!("{}{}", base.trim_end_matches('/'), &link[i..]),
        None => link.to_string(),
    }
}

async fn buy(browser: &Browser, link: &str, event: &str) -> (Answer, Option<Duration>) {
    let fail = |what: String| (Answer::Failed(what), None);
    let shop = match browser.get_json(link).await {
        Ok((200, shop)) => shop,
        Ok((status, body)) => return fail(format!("shop {status}: {body}")),
        Err(e) => return fail(format!("shop: {e}")),
    };
    let url =
        shop["events"].as_array().and_then(|e| e.iter().find(|e| e["id"] == event)).and_then(|e| e["url"].as_str());
    let Some(url) = url else { return fail(format!("{event} not in the shop")) };
    let url = dialticket_sim::web::resolve(link, url);
    let page = match browser.get_json(&url).await {
        Ok((200, page)) => page,
        Ok((status, body)) => return fail(format!("event page {status}: {body}")),
        Err(e) => return fail(format!("event page: {e}")),
    };
    if page["sold_out"] == true && page["form"].is_null() {
        return (Answer::SoldOut, None);
    }
    let (Some(action), Some(token)) = (page["form"]["action"].as_str(), page["form"]["form_token"].as_str()) else {
        return fail("the event page has no order form".into());
    };
    let seat_type = page["event"]["seat_types"][0]["code"].as_str().unwrap_or("S").to_string();
    let fields = [
        ("form_token", token),
        ("seat_type", seat_type.as_str()),
        ("quantity", "1"),
        ("payment_method", "card"),
        ("card_number", "4242 4242 4242 4242"),
    ];
    let started = Instant::now();
    let posted = browser.post_form_json(&dialticket_sim::web::resolve(&url, action), &fields).await;
    let took = Some(started.elapsed());
    let answer = match posted {
        Ok((200, r)) if r["status"] == "paid" => {
            let seats: Vec<&str> = r["seats"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            Answer::Bought(seats.join(","))
        }
        Ok((422, r)) if r["error_field"] == "quantity" => Answer::SoldOut,
        Ok((status, r)) => {
            Answer::Failed(format!("order {status}: {}", r.to_string().chars().take(300).collect::<String>()))
        }
        Err(e) => Answer::Failed(format!("order: {e}")),
    };
    (answer, took)
}

async fn buyers(links: &Path, plan: Plan, bought_out: Option<PathBuf>) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(links).with_context(|| format!("read {}", links.display()))?;
    let list: Vec<(String, String)> =
        text.lines().filter_map(|l| l.split_once(' ').map(|(p, u)| (p.to_string(), u.trim().to_string()))).collect();
    if list.is_empty() || plan.bases.is_empty() {
        return Err(anyhow!("no buyers in {} or no --bases", links.display()));
    }
    let list = Arc::new(list);
    let plan = Arc::new(plan);
    let browser = Browser::new();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let slots = Arc::new(tokio::sync::Semaphore::new(plan.concurrency.max(1)));
    let started = Instant::now();
    let deadline = Duration::from_secs_f64(plan.deadline);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Done>();
    let mut tasks = tokio::task::JoinSet::new();
    match plan.arrive_over {
        Some(over) => {
            let n = list.len();
            for i in 0..n {
                let at = started + Duration::from_secs_f64(over * i as f64 / n as f64);
                let (list, plan, browser, slots, tx) =
                    (list.clone(), plan.clone(), browser.clone(), slots.clone(), tx.clone());
                tasks.spawn(async move {
                    tokio::time::sleep_until(at.into()).await;
                    let arrived = Instant::now();
                    let (phone, link) = &list[i];
                    let _slot = slots.acquire().await;
                    let (answer, post) =
                        buy(&browser, &rebase(link, &plan.bases[i % plan.bases.len()]), &plan.event).await;
                    let _ = tx.send(Done { phone: phone.clone(), answer, took: arrived.elapsed(), post });
                });
            }
        }
        None => {
            for _ in 0..plan.concurrency.max(1) {
                let (list, plan, browser, next, tx) =
                    (list.clone(), plan.clone(), browser.clone(), next.clone(), tx.clone());
                tasks.spawn(async move {
                    while started.elapsed().as_secs_f64() < plan.seconds {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((phone, link)) = list.get(i) else { return };
                        let arrived = Instant::now();
                        let (answer, post) =
                            buy(&browser, &rebase(link, &plan.bases[i % plan.bases.len()]), &plan.event).await;
                        let _ = tx.send(Done { phone: phone.clone(), answer, took: arrived.elapsed(), post });
                    }
                });
            }
        }
    }
    drop(tx);
    let finished = tokio::time::timeout(deadline, async { while tasks.join_next().await.is_some() {} }).await.is_ok();
    tasks.abort_all();
    let elapsed = started.elapsed().as_secs_f64();
    let (mut bought, mut sold_out, mut failures, mut examples) = (Vec::new(), 0usize, 0usize, Vec::new());
    let (mut took, mut posts) = (Vec::new(), Vec::new());
    let mut last_answer = 0f64;
    while let Ok(d) = rx.try_recv() {
        took.push(d.took);
        posts.extend(d.post);
        match d.answer {
            Answer::Bought(seat) => bought.push((d.phone, seat)),
            Answer::SoldOut => sold_out += 1,
            Answer::Failed(what) => {
                failures += 1;
                if examples.len() < 5 {
                    examples.push(what);
                }
            }
        }
        last_answer = last_answer.max(d.took.as_secs_f64());
    }
    let answered = bought.len() + sold_out + failures;
    // Buyers who never answered before the deadline (the rush: every link is a buyer).
    let unanswered = if plan.arrive_over.is_some() { list.len().saturating_sub(answered) } else { 0 };
    if let Some(path) = bought_out {
        let lines: String = bought.iter().map(|(p, s)| format!("{p} {s}\n")).collect();
        std::fs::write(path, lines)?;
    }
    Ok(json!({
        "buyers": answered + unanswered,
        "bought": bought.len(),
        "sold_out": sold_out,
        "failures": failures + unanswered,
        "unanswered": unanswered,
        "finished_before_deadline": finished,
        "failure_examples": examples,
        "seconds": elapsed,
        "purchases_per_s": bought.len() as f64 / elapsed,
        "answers_per_s": answered as f64 / elapsed,
        "p50_ms": pct(&mut took, 0.5),
        "p99_ms": pct(&mut took, 0.99),
        "max_ms": pct(&mut took, 1.0),
        "post_p50_ms": pct(&mut posts, 0.5),
        "post_p99_ms": pct(&mut posts, 0.99),
    }))
}

/// The `q` quantile of `v` in milliseconds (NaN when empty).
fn pct(v: &mut [Duration], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort();
    v[((v.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1000.0
}

//! The waiting list in Chromium on a phone's screen (390×844), in Japanese and
//! in English: a sold-out event's page offers the line; joining shows the
//! buyer's number; seats that come back are offered by mail (its HTML looked at
//! as a mail app shows it) and the offer's page holds them for this buyer, who
//! buys them through the form or lets them go. Screenshots:
//! `target/screenshots/waitlist-<step>-<lang>.png`, `mail-waitlist-offer-<lang>.png`.

use super::{look_at_mail, Chromium};
use crate::helpers::*;
use crate::waitlist::{free, hold_runs_out, sold_out_by_a_hold, tiny_gateway, EVENT};

/// The organizer's words on the page (a Japanese page may show them as written).
const OURS: &[&str] = &["Tiny Night", "Tiny Club, Tokyo", "General admission", "GA-1", "GA-2", "JST"];

struct Lang {
    code: &'static str,
    accept: &'static str,
    purchase: &'static str,
    purchase_mail: &'static str,
    offer_mail: &'static str,
    join: &'static str,
    number_one: &'static str,
    held: &'static str,
}

const EN: Lang = Lang {
    code: "en",
    accept: "en",
    purchase: PURCHASE,
    purchase_mail: "purchase link",
    offer_mail: "Seats are held for you",
    join: "Join the waiting list",
    number_one: "Number 1 in line",
    held: "Seats are held for you",
};

const JA: Lang = Lang {
    code: "ja",
    accept: "ja,en;q=0.5",
    purchase: "+81300000100",
    purchase_mail: "購入用リンク",
    offer_mail: "お席をお取り置きしました",
    join: "キャンセル待ちに登録する",
    number_one: "現在 1 番目",
    held: "お席をお取り置きしています",
};

async fn the_line_as_a_buyer_sees_it(lang: &Lang, buyer: &str) {
    let gw = tiny_gateway().await;
    sold_out_by_a_hold(&gw).await;
    assert_eq!(gw.call(buyer, lang.purchase).await.final_status, 200);
    let shop = gw.link(&gw.mail(buyer, lang.purchase_mail).await, "/p/");
    let chromium = Chromium::start_in(lang.accept).await;

    // Sold out: the line to join, with what it means.
    chromium.goto(&format!("{shop}/events/{EVENT}")).await;
    chromium.text_when("#wait-h", |t| t == lang.join).await;
    assert_eq!(chromium.count("#wait-type option").await, 1, "the sold-out type");
    chromium.looked_at_width(lang.code, &format!("waitlist-join-{}", lang.code), 390, OURS).await;

    // Join for two: the buyer's place and number.
    chromium.click("#wait-quantity option:nth-child(2)").await;
    chromium.click("#wait-join").await;
    chromium.text_when(".wait-number", |t| t == lang.number_one).await;
    let place = chromium.looked_at_width(lang.code, &format!("waitlist-place-{}", lang.code), 390, OURS).await;
    assert!(place.contains("× 2"), "{place}");
    assert_eq!(chromium.count("#wait-leave").await, 1, "the buyer may leave the line");

    // Both seats come back: held for this buyer and offered by mail.
    hold_runs_out(&gw).await;
    dialticket::waitlist::sweep(&gw.app, dialticket::store::now()).await.expect("sweep");
    let offer = gw.mail(buyer, lang.offer_mail).await;
    let mail = look_at_mail(&gw, &chromium, lang.code, "waitlist-offer", &offer).await;
    assert!(mail.contains("GA-1, GA-2") && mail.contains("JST"), "{mail}");
    let link = gw.link(&offer, "/p/");

    // The offer's page: the held seats, the deadline on the venue's clock, the form.
    chromium.goto(&link).await;
    chromium.text_when("#wait-h", |t| t == lang.held).await;
    assert_eq!(chromium.text_when("#wait-seats", |t| !t.is_empty()).await, "GA-1, GA-2");
    assert_eq!(chromium.count("#quantity option").await, 2, "up to the seats held");
    let page = chromium.looked_at_width(lang.code, &format!("waitlist-offer-{}", lang.code), 390, OURS).await;
    assert!(page.contains("JST"), "the deadline on the venue's clock: {page}");

    // Let them go: nobody else waits, so they are on sale again.
    chromium.click("#wait-leave").await;
    chromium.text_when("#quantity", |t| !t.is_empty()).await;
    assert_eq!(chromium.count("#waitlist").await, 0, "nothing sold out, no line");
    assert_eq!(free(&gw).await, 2);
    chromium.quit().await;
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_waiting_list_in_english() {
    the_line_as_a_buyer_sees_it(&EN, "+819011112001").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_waiting_list_in_japanese() {
    the_line_as_a_buyer_sees_it(&JA, "+819011112002").await;
}

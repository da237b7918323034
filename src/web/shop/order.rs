//! The order: the one POST that reserves and charges (one store transaction),
//! and the page of its result — a receipt when paid, else what to do next
//! (pay at a convenience store, consent by calling, answer the card's
//! challenge) or what went wrong (declined, expired).

use axum::http::{HeaderMap, StatusCode};
use serde_json::json;

use super::super::{at_venue, locale, respond, tr, PageResult, Web, WebError};
use super::events::form_page;
use super::form::{check, OrderForm, Refusal};
use super::{confirm_number, phone, review, Shop};
use crate::app::MailEvent;
use crate::dialplan::Action;
use crate::domain::{PaymentResult, PaymentStatus, Purchase};
use crate::events::EventView;
use crate::i18n::Style;
use crate::links::Purpose;
use crate::payment::{Charge, ChargeRequest, PaymentError};
use crate::phone::PhoneNumber;
use crate::store::{now, StoreError};

/// What a carrier-billing payer is told (in `lang`): call the confirmation number from the line.
fn consent_instructions(web: &Web, lang: &str, number: &str, line: &str, amount: &str, until: &str) -> String {
    let args = [("number", number), ("line", line), ("amount", amount), ("until", until)];
    tr_in(web, lang, "shop-consent-instructions", &args)
}

/// Message `id` in `lang` (a mail's reader's language, not the page's).
fn tr_in(web: &Web, lang: &str, id: &str, args: &[(&str, &str)]) -> String {
    let mut fa = fluent_bundle::FluentArgs::new();
    for (k, v) in args {
        fa.set(*k, *v);
    }
    web.app.catalogs.message(lang, id, Some(&fa))
}

/// The convenience-store payment number of a `konbini_…` reference: `1234-5678-9012`.
fn payment_number(reference: &str) -> String {
    let digits = reference.strip_prefix("konbini_").unwrap_or_default();
    let groups: Vec<&str> = digits.as_bytes().chunks(4).filter_map(|c| std::str::from_utf8(c).ok()).collect();
    groups.join("-")
}

pub(super) async fn order(web: &Web, headers: &HeaderMap, shop: &Shop, event_id: &str, form: &OrderForm) -> PageResult {
    let app = &web.app;
    if form.form_token.len() < 16 || form.form_token.len() > 64 {
        return Err(WebError::Invalid(tr(web, "shop-error-form-incomplete", &[])));
    }
    if let Some(p) = app.store.purchase_by_form_token(&form.form_token).await? {
        // The same form submitted again (double tap, reload): answer with the first result.
        if p.event_id != event_id {
            return Err(WebError::Conflict(tr(web, "shop-error-form-used", &[])));
        }
        let event = app.store.event(&p.event_id).await?.ok_or_else(|| WebError::NotFound(p.event_id.clone()))?;
        return result(web, headers, &p, &event, None, None, None).await;
    }
    let event = super::shop_event(web, event_id).await?;
    let (event, shop) = super::waitlist::with_place(web, shop, event).await?;
    let shop = &shop;
    let at = now();
    if event.sales_paused {
        return Err(WebError::Conflict(tr(web, "shop-error-paused", &[("event", &event.name)])));
    }
    if !event.on_sale(at) {
        return Err(WebError::Conflict(tr(web, "shop-error-not-on-sale", &[("event", &event.name)])));
    }
    let c = match check(web, &event, shop.buyer.as_ref(), form) {
        Ok(c) => c,
        Err(Refusal::Field(field, message)) => return refuse(web, headers, shop, &event, form, field, message).await,
        Err(Refusal::Page(e)) => return Err(e),
    };
    // From the review page the buyer confirms the phone that receives the ticket.
    if form.reviewed && !form.confirm_phone {
        return refuse(web, headers, shop, &event, form, "confirm_phone", tr(web, "shop-error-confirm-phone", &[]))
            .await;
    }
    let lang = locale::current();
    let mut tx = app.store.begin().await?;
    let holder_user = tx.touch_phone_user(&c.holder, &lang, at).await?;
    let buyer_user = match &shop.buyer {
        Some(b) if *b != c.holder => Some(tx.touch_phone_user(b, &lang, at).await?),
        _ => None,
    };
    if let Some(b) = &shop.buyer {
        super::super::account::note_handset(&mut tx, b, headers).await?;
    }
    // The purchase belongs to whoever pays: the line billed, else the buyer's phone.
    let line_user = match &c.billing_line {
        Some(l) if *l == c.holder => Some(holder_user.clone()),
        Some(l) if Some(l) == shop.buyer.as_ref() => buyer_user.clone(),
        Some(l) => Some(tx.touch_phone_user(l, &lang, at).await?),
        None => None,
    };
    let payer = line_user.as_ref().or(buyer_user.as_ref()).unwrap_or(&holder_user);
    // The organizer's limit of tickets per phone: paid and held ones of the holder's phone.
    // Two orders for one holder cannot both pass: SQLite has one writer, and on
    // PostgreSQL the holder's row, updated above, stays locked until this commits.
    if event.phone_limit > 0 {
        let has = tx.phone_tickets(&event.id, c.holder.as_str()).await?;
        if has + i64::from(c.quantity) > event.phone_limit {
            drop(tx);
            let (limit, has) = (event.phone_limit.to_string(), has.to_string());
            let m = tr(web, "shop-error-phone-limit", &[("limit", &limit), ("has", &has)]);
            return refuse(web, headers, shop, &event, form, "quantity", m).await;
        }
    }
    let (seat_type, method, token) = (&c.seat_type.code, &form.payment_method, &form.form_token);
    // Seats held for this buyer's waiting-list place are bought as they are.
    let offer = shop.place.as_ref().filter(|p| super::waitlist::offer_open(p) && p.seat_type == *seat_type);
    let reserved = match offer {
        Some(place) => tx.reserve_offer(payer, &c.holder, &event, place, c.quantity, method, token, at).await,
        None => tx.reserve_seats(payer, &c.holder, &event, seat_type, c.quantity, &c.seats, method, token, at).await,
    };
    let mut p = match reserved {
        Ok(p) => p,
        Err(StoreError::NotEnoughSeats { available, .. }) => {
            drop(tx);
            let m = tr(web, "shop-error-not-enough", &[("count", &available.to_string())]);
            return refuse(web, headers, shop, &event, form, "quantity", m).await;
        }
        Err(StoreError::SeatTaken(seat)) => {
            drop(tx);
            let m = tr(web, "shop-error-seat-gone", &[("seat", &seat)]);
            return refuse(web, headers, shop, &event, form, "seat", m).await;
        }
        Err(e) => return Err(e.into()),
    };
    let detail = json!({"seats": p.seats, "holder": c.holder, "buyer": shop.buyer, "web_first": shop.buyer.is_none()});
    tx.journal("purchase", &p.id, "reserved", None, Some("pending"), "web:order", &detail.to_string());
    let channel = if shop.buyer.is_none() { crate::store::CHANNEL_WEB } else { crate::store::CHANNEL_PHONE_LINK };
    tx.set_purchase_channel(&p.id, channel).await?;
    let provider = app.payments.get(&form.payment_method).map_err(|e| WebError::Invalid(e.to_string()))?;
    let input = if provider.input() == Some("prepaid_code") { &form.prepaid_code } else { &form.card_number };
    let request =
        ChargeRequest { purchase_id: &p.id, amount: p.amount, phone: &c.holder, payer: &payer.phone, input, now: at };
    // Bad input is not a decline: nothing is reserved (the transaction is dropped).
    let charge = match provider.charge(&request) {
        Ok(charge) => charge,
        Err(e) => {
            drop(tx);
            let (field, id) = match e {
                PaymentError::InvalidPrepaidCode => ("prepaid_code", "shop-error-prepaid"),
                PaymentError::InvalidCardNumber => ("card_number", "shop-error-card"),
                _ => ("payment_method", "shop-error-method"),
            };
            return refuse(web, headers, shop, &event, form, field, tr(web, id, &[])).await;
        }
    };
    let mut declined = None;
    let mut receipt_to = None;
    match charge {
        Charge::Approved { reference } => {
            app.settle_payment(&mut tx, &mut p, &event, &PaymentResult::Approved { reference }, "web:order", at)
                .await?;
            if let Some(to) = &c.mail {
                queue_receipt(web, &mut tx, to, &p, &event, at).await?;
                receipt_to = Some(to.clone());
            }
        }
        Charge::Declined { reason } => {
            declined = app
                .settle_payment(&mut tx, &mut p, &event, &PaymentResult::Declined { reason }, "web:order", at)
                .await?;
        }
        Charge::Pending { reference, expires_at, .. } => {
            let t = p.await_payment(&reference, expires_at).map_err(|e| WebError::Conflict(e.to_string()))?;
            tx.save_purchase(&p, &t, "web:order", at).await?;
            let ctx = json!({
                "event": MailEvent::new(&event, &payer.language), "seats": p.seats.join(", "), "amount": event.price_display(p.amount),
                "instructions": tr_in(web, &payer.language, "shop-pending-instructions", &[("number", &payment_number(&reference))]),
                "expires": event.when(&payer.language, expires_at, Style::DateTime), "phone": p.phone.as_str(),
                "purchase_id": p.id,
            });
            app.queue_order_mail(&mut tx, payer, "payment-instructions", &ctx, at).await?;
        }
        Charge::Challenge { reference, expires_at } => {
            let t = p.await_payment(&reference, expires_at).map_err(|e| WebError::Conflict(e.to_string()))?;
            tx.save_purchase(&p, &t, "web:order", at).await?;
        }
        Charge::AwaitConsent { reference, expires_at } => {
            let t = p.await_payment(&reference, expires_at).map_err(|e| WebError::Conflict(e.to_string()))?;
            tx.save_purchase(&p, &t, "web:order", at).await?;
            // The line's other orders waiting for its consent have numbers of their own;
            // should this one's come out the same (one in a thousand), order again.
            let number = confirm_number(web, event_id, &p.id);
            for other in tx.awaiting_consent(&payer.user_number, at).await? {
                if other.id != p.id && confirm_number(web, &other.event_id, &other.id) == number {
                    return Err(WebError::Conflict(tr(web, "shop-error-consent-clash", &[])));
                }
            }
            let amount = event.price_display(p.amount);
            let expires = event.when(&payer.language, expires_at, Style::DateTime);
            let ctx = json!({
                "event": MailEvent::new(&event, &payer.language), "seats": p.seats.join(", "), "amount": amount,
                "instructions": consent_instructions(web, &payer.language, &number, payer.phone.as_str(), &amount, &expires),
                "expires": expires, "phone": p.phone.as_str(), "purchase_id": p.id,
                "confirm_number": number, "billing_phone": payer.phone.as_str(),
            });
            app.queue_order_mail(&mut tx, payer, "payment-instructions", &ctx, at).await?;
        }
    }
    tx.commit().await?;
    app.mail_wake.notify_one();
    result(web, headers, &p, &event, declined, None, receipt_to).await
}

/// Refused on `field`: the review page again for its own fields, else the event's
/// form, filled as posted, with `message` next to the field.
async fn refuse(
    web: &Web,
    headers: &HeaderMap,
    shop: &Shop,
    event: &EventView,
    form: &OrderForm,
    field: &'static str,
    message: String,
) -> PageResult {
    if matches!(field, "confirm_phone" | "mail") {
        let unmailed = OrderForm { mail: String::new(), ..form.clone() };
        if let Ok(c) = check(web, event, shop.buyer.as_ref(), &unmailed) {
            return Ok(review::page(web, headers, shop, event, form, &c, Some((field, message))));
        }
    }
    Ok(form_page(web, headers, shop, event, Some(form), Some((field, message))).await)
}

/// The receipt mail to a web buyer's own address, in the page's language.
async fn queue_receipt(
    web: &Web,
    tx: &mut crate::store::StoreTx,
    to: &str,
    p: &Purchase,
    event: &EventView,
    at: i64,
) -> Result<(), WebError> {
    let lang = locale::current();
    let cc = phone::country_of(event);
    let issue = web.app.number_in(Action::Issue, Some(&p.event_id), Some(&lang));
    let ctx = json!({
        "event": MailEvent::new(event, &lang),
        "purchase_id": p.id,
        "seat_type": event.seat_types.iter().find(|s| s.code == p.seat_type).map(|s| s.name.clone()).unwrap_or_default(),
        "seats": p.seats.join(", "),
        "quantity": p.quantity,
        "unit_price": event.price_display(p.amount / i64::from(p.quantity.max(1))),
        "amount": event.price_display(p.amount),
        "paid_at": event.when(&lang, at, Style::DateTime),
        "cancellable_until": event.when(&lang, p.cancellable_until, Style::DateTime),
        "phone": p.phone.national(cc),
        "issue_number": issue,
        "issue_number_display": PhoneNumber::parse(&issue).map(|n| n.national(cc)).unwrap_or(issue.clone()),
    });
    let letter = web.app.templates.letter("receipt", &lang, &ctx).map_err(|e| WebError::Unexpected(e.into()))?;
    tx.enqueue_mail(&letter.to_outbox(to, at)).await?;
    Ok(())
}

/// The page of an order's state.
pub(super) async fn result(
    web: &Web,
    headers: &HeaderMap,
    p: &Purchase,
    event: &EventView,
    declined: Option<String>,
    wrong_code: Option<String>,
    receipt_to: Option<String>,
) -> PageResult {
    let at = now();
    let links = &web.app.links;
    let lang = locale::current();
    let cc = phone::country_of(event);
    let reference = p.payment_ref.clone().unwrap_or_default();
    let amount = event.price_display(p.amount);
    // One status a client can act on: paid → call the issue number; challenge →
    // answer it; pending → pay at the store; anything else → it did not go through.
    let (status, mut http, extra) = match p.payment_status {
        PaymentStatus::Paid => (
            "paid",
            StatusCode::OK,
            json!({"issue_guide_url": links.url_in(Purpose::IssueGuide, &p.phone, Some(&p.id), &lang, at).ok()}),
        ),
        PaymentStatus::Pending if reference.starts_with("card3ds_") => (
            "challenge",
            StatusCode::ACCEPTED,
            // Its own purpose, bound to this order: the buyer on the web shop may not be
            // the ticket's phone, so nothing here may open that phone's pages.
            json!({"challenge_url": links.sign(Purpose::CardChallenge, &p.phone, Some(&p.id), at).ok().map(|t| format!("/pay/{t}/challenge")),
                   "hold_until": p.hold_until, "hold_until_display": at_venue(event, p.hold_until)}),
        ),
        PaymentStatus::Pending if reference.starts_with("carrier_") => {
            let number = confirm_number(web, &p.event_id, &p.id);
            let payer = web.app.store.phone_user_by_number(&p.user_number).await?;
            let line: PhoneNumber = payer.map(|u| u.phone).unwrap_or_else(|| p.phone.clone());
            let until = at_venue(event, Some(p.hold_until.unwrap_or(at)));
            let line_display = line.national(cc);
            (
                "consent",
                StatusCode::ACCEPTED,
                json!({"confirm_number": number, "billing_phone": line, "billing_phone_display": line_display,
                       "hold_until": p.hold_until, "hold_until_display": until,
                       "instructions": consent_instructions(web, &lang, &number, &line_display, &amount, &until)}),
            )
        }
        PaymentStatus::Pending => {
            let number = payment_number(&reference);
            (
                "pending",
                StatusCode::ACCEPTED,
                json!({"instructions": tr(web, "shop-pending-instructions", &[("number", &number)]),
                       "payment_number": number,
                       "hold_until": p.hold_until, "hold_until_display": at_venue(event, p.hold_until)}),
            )
        }
        other => (other.as_str(), StatusCode::PAYMENT_REQUIRED, json!({})),
    };
    let seat_type = event.seat_types.iter().find(|s| s.code == p.seat_type);
    let issue = web.app.number_in(Action::Issue, Some(&p.event_id), Some(&lang));
    let mut body = json!({
        "status": status,
        "payment_status": p.payment_status.as_str(),
        "purchase_id": p.id,
        "event_id": p.event_id,
        "event_name": event.name,
        "event_starts": event.starts(&lang),
        "venue": event.venue,
        "seat_type_name": seat_type.map(|s| s.name.clone()),
        "seats": p.seats,
        "quantity": p.quantity,
        "unit_price": event.price_display(p.amount / i64::from(p.quantity.max(1))),
        "amount": amount,
        "phone": p.phone,
        "phone_display": p.phone.national(cc),
        "issue_number": issue,
        "issue_number_display": PhoneNumber::parse(&issue).map(|n| n.national(cc)).unwrap_or(issue.clone()),
        "reason": declined.unwrap_or_else(|| "payment declined".into()),
        "receipt_to": receipt_to,
        "event_url": format!("/buy/events/{}", p.event_id),
        "test_mode": web.app.payments.test_mode(),
    });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    // A wrong challenge code: the same form again, saying so (not a dead end).
    if let Some(wrong) = wrong_code.filter(|_| status == "challenge") {
        body["error"] = json!(wrong);
        http = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(respond(web, headers, http, "order.html", &body))
}

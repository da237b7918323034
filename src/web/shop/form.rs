//! The order form as posted (to the review step, and from it to the order), and
//! its checks. A refusal names the field it is about, so the page can show the
//! form again, filled as it was, with the message next to that field.

use serde::Serialize;

use super::super::{tr, Web, WebError};
use super::phone;
use crate::events::{EventView, SeatTypeView};
use crate::phone::PhoneNumber;

/// Most seats one order may take.
pub(crate) const MAX_PER_ORDER: i64 = 10;

/// What the form holds; every field optional on the wire (missing is empty), so a
/// short or odd post is a refusal we can explain, not a parse error.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct OrderForm {
    pub form_token: String,
    pub seat_type: String,
    pub quantity: String,
    pub payment_method: String,
    pub card_number: String,
    pub prepaid_code: String,
    /// The phone that will receive (issue and use) the ticket.
    pub recipient: String,
    /// Carrier billing: the line whose phone bill pays (empty: the purchase link's phone).
    pub billing_phone: String,
    /// Seats ticked on the seat map (`seat`, repeated).
    pub seats: Vec<String>,
    /// The buyer's own mail address for a receipt (review step; optional).
    pub mail: String,
    /// Posted from the review page: the buyer saw the total.
    pub reviewed: bool,
    /// "This phone will receive the ticket" ticked (review page).
    pub confirm_phone: bool,
    /// The review page's "Change the order": back to the form, filled.
    #[serde(skip)]
    pub change: bool,
}

impl OrderForm {
    /// From an `application/x-www-form-urlencoded` body.
    pub(crate) fn parse(body: &[u8]) -> OrderForm {
        let mut f = OrderForm { payment_method: "card".into(), ..OrderForm::default() };
        for (k, v) in url::form_urlencoded::parse(body) {
            let v = v.into_owned();
            match k.as_ref() {
                "form_token" => f.form_token = v,
                "seat_type" => f.seat_type = v,
                "quantity" => f.quantity = v,
                "payment_method" => f.payment_method = v,
                "card_number" => f.card_number = v,
                "prepaid_code" => f.prepaid_code = v,
                "recipient" => f.recipient = v,
                "billing_phone" => f.billing_phone = v,
                "seat" if f.seats.len() < MAX_PER_ORDER as usize * 2 => f.seats.push(v),
                "mail" => f.mail = v,
                "reviewed" => f.reviewed = !v.is_empty(),
                "confirm_phone" => f.confirm_phone = !v.is_empty(),
                "step" => f.change = v == "change",
                _ => {}
            }
        }
        f
    }
}

/// Why a form was refused: a field's problem (the form comes back filled), or
/// anything else (an error page).
#[derive(Debug)]
pub(crate) enum Refusal {
    Field(&'static str, String),
    Page(WebError),
}

impl From<WebError> for Refusal {
    fn from(e: WebError) -> Self {
        Refusal::Page(e)
    }
}

impl From<crate::store::StoreError> for Refusal {
    fn from(e: crate::store::StoreError) -> Self {
        Refusal::Page(e.into())
    }
}

impl From<crate::app::AppError> for Refusal {
    fn from(e: crate::app::AppError) -> Self {
        Refusal::Page(e.into())
    }
}

/// What a form that passed its checks orders.
pub(crate) struct Checked {
    pub holder: PhoneNumber,
    pub billing_line: Option<PhoneNumber>,
    pub quantity: u32,
    pub seat_type: SeatTypeView,
    /// Seats chosen on the seat map (none: the best free ones).
    pub seats: Vec<String>,
    pub mail: Option<String>,
}

/// Seats one order may take of `s`: what is left, at most [`MAX_PER_ORDER`].
pub(crate) fn cap(s: &SeatTypeView) -> i64 {
    s.available.clamp(0, MAX_PER_ORDER)
}

/// The phone typed in `raw` for `event` (see [`phone::read`]), or a refusal of `field`
/// naming the format expected.
pub(crate) fn typed_phone(
    web: &Web,
    event: &EventView,
    raw: &str,
    field: &'static str,
) -> Result<PhoneNumber, Refusal> {
    let cc = phone::country_of(event);
    let plan = web.app.dialplan.borrow().numbering_plan.clone();
    phone::read(raw, cc, &plan).ok_or_else(|| {
        let typed: String = raw.trim().chars().take(40).collect();
        let message = match phone::country_name_id(cc) {
            Some(country) => tr(
                web,
                "shop-error-phone-format",
                &[("typed", &typed), ("country", &tr(web, country, &[])), ("example", phone::example(cc))],
            ),
            None => tr(web, "shop-error-phone-format-any", &[("typed", &typed), ("example", phone::example(cc))]),
        };
        Refusal::Field(field, message)
    })
}

/// Check `form` for `event` as bought by `buyer` (a purchase link's phone; `None`
/// on the web shop). Nothing is reserved or charged here.
pub(crate) fn check(
    web: &Web,
    event: &EventView,
    buyer: Option<&PhoneNumber>,
    form: &OrderForm,
) -> Result<Checked, Refusal> {
    if form.form_token.len() < 16 || form.form_token.len() > 64 {
        return Err(Refusal::Page(WebError::Invalid(tr(web, "shop-error-form-incomplete", &[]))));
    }
    // Seats ticked on the seat map ("S:A-1") decide the seat type and the quantity.
    let ticked: Vec<(&str, &str)> = form.seats.iter().filter_map(|s| s.split_once(':')).collect();
    let (type_code, quantity) = match ticked.first() {
        None => (form.seat_type.as_str(), form.quantity.trim().to_string()),
        Some((t, _)) if ticked.len() == form.seats.len() && ticked.iter().all(|(o, _)| o == t) => {
            (*t, ticked.len().to_string())
        }
        Some(_) => return Err(Refusal::Field("seat", tr(web, "shop-error-seats-mixed", &[]))),
    };
    let seat_type = event
        .seat_types
        .iter()
        .find(|s| s.code == type_code)
        .cloned()
        .ok_or_else(|| Refusal::Field("seat_type", tr(web, "shop-error-seat-type", &[])))?;
    let max = cap(&seat_type).max(1);
    let quantity: u32 = quantity
        .parse()
        .ok()
        .filter(|q| (1..=MAX_PER_ORDER as u32).contains(q))
        .ok_or_else(|| Refusal::Field("quantity", tr(web, "shop-error-quantity", &[("max", &max.to_string())])))?;
    if i64::from(quantity) > seat_type.available {
        let left = seat_type.available.to_string();
        return Err(Refusal::Field("quantity", tr(web, "shop-error-not-enough", &[("count", &left)])));
    }
    let holder = match (form.recipient.trim(), buyer) {
        ("", Some(b)) => b.clone(),
        ("", None) => return Err(Refusal::Field("recipient", tr(web, "shop-error-recipient-missing", &[]))),
        (raw, _) => typed_phone(web, event, raw, "recipient")?,
    };
    let provider = web.app.payments.get(&form.payment_method);
    let Ok(provider) = provider else {
        return Err(Refusal::Field("payment_method", tr(web, "shop-error-method", &[])));
    };
    // Carrier billing charges the line that pays, never one named by somebody else
    // without its owner's consent: a call from that line confirms it.
    let billing_line = match (provider.method(), form.billing_phone.trim(), buyer) {
        ("carrier", _, _) if !web.app.takes_billing_consent(&event.id) => {
            return Err(Refusal::Field("payment_method", tr(web, "shop-error-carrier-unavailable", &[])))
        }
        ("carrier", "", Some(b)) => Some(b.clone()),
        ("carrier", "", None) => {
            return Err(Refusal::Field("billing_phone", tr(web, "shop-error-billing-missing", &[])))
        }
        ("carrier", raw, _) => Some(typed_phone(web, event, raw, "billing_phone")?),
        _ => None,
    };
    match provider.input() {
        Some("card_number") if !card_shaped(&form.card_number) => {
            return Err(Refusal::Field("card_number", tr(web, "shop-error-card", &[])))
        }
        Some("prepaid_code") if form.prepaid_code.trim().len() < 4 => {
            return Err(Refusal::Field("prepaid_code", tr(web, "shop-error-prepaid", &[])))
        }
        _ => {}
    }
    let mail = match form.mail.trim() {
        "" => None,
        raw => Some(crate::mail::registration::registrable(raw).map_err(|_| {
            let typed: String = raw.chars().take(80).collect();
            Refusal::Field("mail", tr(web, "shop-error-mail", &[("typed", &typed)]))
        })?),
    };
    let seats = ticked.iter().map(|(_, code)| code.to_string()).collect();
    Ok(Checked { holder, billing_line, quantity, seat_type, seats, mail })
}

/// 12 to 19 digits (spaces and dashes allowed): the provider checks the rest.
fn card_shaped(raw: &str) -> bool {
    let digits: String = raw.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    (12..=19).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_posted_form_is_read_whatever_it_holds() {
        let f = OrderForm::parse(b"form_token=t&seat=S%3AA-1&seat=S%3AA-2&recipient=090-3333-4444&confirm_phone=1&x=y");
        assert_eq!(f.seats, ["S:A-1", "S:A-2"]);
        assert_eq!(f.recipient, "090-3333-4444");
        assert!(f.confirm_phone && !f.reviewed && !f.change);
        assert_eq!(f.payment_method, "card", "card unless another is picked");
        let empty = OrderForm::parse(b"");
        assert!(empty.seat_type.is_empty() && empty.quantity.is_empty(), "missing is empty, not a parse error");
        let junk = OrderForm::parse(b"%FF%FE=%00&step=change&quantity=%E4%B8%89");
        assert!(junk.change);
        assert_eq!(junk.quantity, "三");
        let many = "seat=S%3AA-1&".repeat(100);
        assert_eq!(OrderForm::parse(many.as_bytes()).seats.len(), 2 * MAX_PER_ORDER as usize, "bounded");
    }

    #[test]
    fn card_numbers_are_shaped_before_the_provider_sees_them() {
        assert!(card_shaped("4242 4242 4242 4242") && card_shaped("4242-4242-4242-4242"));
        assert!(!card_shaped("1234 5678") && !card_shaped("4242 4242 4242 424x"));
    }
}

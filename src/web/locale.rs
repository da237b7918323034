//! Which language a page is written in, chosen once per request.
//!
//! In order: a `?lang=` the reader just picked from the switch on every page
//! (remembered in a `lang` cookie), that cookie, the language of the link the
//! page was opened from (the dialplan language of the number the caller dialled:
//! [`adopt_link_language`]), the browser's `Accept-Language`, English. Only
//! languages with a catalog are taken; anything else is ignored, never an error.
//!
//! The choice lives in a task-local for the request's duration, so every
//! page and error rendered for it ([`super::respond`]) agrees without each
//! handler passing it along.

use std::cell::RefCell;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use fluent_bundle::{FluentArgs, FluentValue};
use minijinja::value::{Kwargs, Value};
use serde::Serialize;

use super::Web;
use crate::i18n::{negotiate, Catalogs, FALLBACK};

/// The cookie that remembers the switch: a year, this site only.
const COOKIE: &str = "lang";

#[derive(Debug, Clone)]
pub(crate) struct Chosen {
    pub lang: String,
    /// Picked by the reader (switch or cookie): a link's language does not override it.
    pub picked: bool,
    /// The page's path, for the switch's links.
    path: String,
}

tokio::task_local! {
    static CHOSEN: RefCell<Chosen>;
}

/// The middleware: choose, run the handler with the choice, remember a switch.
pub(crate) async fn choose(State(web): State<Web>, req: Request, next: Next) -> Response {
    let catalogs = &web.app.catalogs;
    let query_pick = req.uri().query().and_then(|q| {
        q.split('&').filter_map(|kv| kv.strip_prefix("lang=")).find(|l| catalogs.has(l)).map(str::to_string)
    });
    let cookie_pick = cookie(req.headers()).filter(|l| catalogs.has(l));
    let chosen = match (query_pick.clone(), cookie_pick) {
        (Some(l), _) | (None, Some(l)) => Chosen { lang: l, picked: true, path: req.uri().path().to_string() },
        (None, None) => Chosen {
            lang: accepted(req.headers(), catalogs).unwrap_or(FALLBACK).to_string(),
            picked: false,
            path: req.uri().path().to_string(),
        },
    };
    let mut resp = CHOSEN.scope(RefCell::new(chosen), next.run(req)).await;
    if let Some(l) = query_pick {
        let cookie = format!("{COOKIE}={l}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly");
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}

/// The `lang` cookie's value.
fn cookie(headers: &HeaderMap) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == COOKIE).then(|| v.trim().to_string())
    })
}

fn accepted<'a>(headers: &HeaderMap, catalogs: &'a Catalogs) -> Option<&'a str> {
    let header = headers.get(header::ACCEPT_LANGUAGE)?.to_str().ok()?;
    negotiate(header, &catalogs.languages())
}

/// The request's language (English outside a request).
pub(crate) fn current() -> String {
    CHOSEN.try_with(|c| c.borrow().lang.clone()).unwrap_or_else(|_| FALLBACK.to_string())
}

/// A page opened from a link to a caller whose number speaks `lang`: the page
/// speaks it too, unless the reader picked another (or we have no catalog for it).
pub(crate) fn adopt_link_language(catalogs: &Catalogs, lang: &str) {
    if !catalogs.has(lang) {
        return;
    }
    let _ = CHOSEN.try_with(|c| {
        let mut c = c.borrow_mut();
        if !c.picked {
            c.lang = lang.to_string();
        }
    });
}

/// One entry of the language switch.
#[derive(Serialize)]
pub(crate) struct SwitchEntry {
    code: String,
    name: String,
    href: String,
    current: bool,
}

/// The switch: every language, named in itself, linking to this page in it.
pub(crate) fn switch(catalogs: &Catalogs) -> Vec<SwitchEntry> {
    let (lang, path) = CHOSEN
        .try_with(|c| {
            let c = c.borrow();
            (c.lang.clone(), c.path.clone())
        })
        .unwrap_or_else(|_| (FALLBACK.to_string(), "/".to_string()));
    catalogs
        .languages()
        .into_iter()
        .map(|l| SwitchEntry {
            code: l.to_string(),
            name: catalogs.message(l, "language-name", None),
            href: format!("{path}?lang={l}"),
            current: l == lang,
        })
        .collect()
}

/// The templates' `t("message-id", name=value, …)`: the message in the page's
/// language (the `lang` the page is rendered with).
pub(crate) fn translate(catalogs: &Catalogs, state: &minijinja::State, id: &str, kwargs: Kwargs) -> String {
    let lang = state.lookup("lang").map(|v| v.to_string()).unwrap_or_else(|| FALLBACK.to_string());
    let mut args = FluentArgs::new();
    for name in kwargs.args() {
        let Ok(v) = kwargs.get::<Value>(name) else { continue };
        let value = match v.as_i64() {
            Some(n) if v.kind() == minijinja::value::ValueKind::Number => FluentValue::from(n),
            _ => FluentValue::from(v.to_string()),
        };
        args.set(name.to_string(), value);
    }
    catalogs.message(&lang, id, Some(&args))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `t("id")` of every page template, by file.
    fn used_ids() -> Vec<(String, String)> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/web/templates");
        let re = regex::Regex::new(r#"\bt\(\s*"([a-z0-9-]+)""#).unwrap();
        let mut out = vec![];
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            let file = entry.file_name().to_string_lossy().into_owned();
            out.extend(re.captures_iter(&text).map(|c| (file.clone(), c[1].to_string())));
        }
        out
    }

    #[test]
    fn every_message_a_page_uses_exists_in_every_language() {
        let c = Catalogs::embedded().unwrap();
        let used = used_ids();
        assert!(used.len() > 3, "the templates use the catalogs");
        for lang in c.languages() {
            for (file, id) in &used {
                assert!(c.has_message(lang, id), "{file} uses '{id}', missing in locales/{lang}");
            }
        }
    }

    #[test]
    fn every_language_has_the_same_messages() {
        let c = Catalogs::embedded().unwrap();
        let en: std::collections::BTreeSet<_> = c.ids("en").into_iter().collect();
        for lang in c.languages() {
            let theirs: std::collections::BTreeSet<_> = c.ids(lang).into_iter().collect();
            let missing: Vec<_> = en.difference(&theirs).collect();
            let extra: Vec<_> = theirs.difference(&en).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "locales/{lang}: missing {missing:?}, not in English {extra:?}"
            );
        }
    }

    #[test]
    fn messages_take_arguments_and_fall_back_to_english() {
        let c = Catalogs::embedded().unwrap();
        assert_eq!(c.message("ja", "language-name", None), "日本語");
        assert_eq!(c.message("fr", "language-name", None), "English", "a language we lack reads English");
        assert_eq!(c.message("ja", "no-such-message", None), "no-such-message");
    }

    #[test]
    fn the_cookie_is_read_among_others() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; lang=ja; b=2"));
        assert_eq!(cookie(&h).as_deref(), Some("ja"));
        h.insert(header::COOKIE, HeaderValue::from_static("xlang=ja"));
        assert_eq!(cookie(&h), None);
    }
}

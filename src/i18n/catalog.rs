//! Message catalogs: Project Fluent (`.ftl`) files, one folder per language under
//! `locales/`, one file per concern (`common.ftl`, `shop.ftl`, …).
//!
//! English and Japanese are compiled in; a `locales/` folder next to the gateway
//! (config `locales`) adds languages or replaces these, so a translator adds a
//! language by adding a folder. A message missing in a language falls back to
//! English, then to its id (and a test fails on that for the languages we ship).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use unic_langid::LanguageIdentifier;

/// The catalogs compiled into the binary: `(language, file, text)`.
const EMBEDDED: &[(&str, &str, &str)] = &[
    ("en", "common.ftl", include_str!("../../locales/en/common.ftl")),
    ("ja", "common.ftl", include_str!("../../locales/ja/common.ftl")),
    ("en", "account.ftl", include_str!("../../locales/en/account.ftl")),
    ("ja", "account.ftl", include_str!("../../locales/ja/account.ftl")),
    ("en", "staff.ftl", include_str!("../../locales/en/staff.ftl")),
    ("ja", "staff.ftl", include_str!("../../locales/ja/staff.ftl")),
    ("en", "home.ftl", include_str!("../../locales/en/home.ftl")),
    ("ja", "home.ftl", include_str!("../../locales/ja/home.ftl")),
    ("en", "ticket.ftl", include_str!("../../locales/en/ticket.ftl")),
    ("ja", "ticket.ftl", include_str!("../../locales/ja/ticket.ftl")),
    ("en", "door.ftl", include_str!("../../locales/en/door.ftl")),
    ("ja", "door.ftl", include_str!("../../locales/ja/door.ftl")),
    ("en", "shop.ftl", include_str!("../../locales/en/shop.ftl")),
    ("ja", "shop.ftl", include_str!("../../locales/ja/shop.ftl")),
    ("en", "admin.ftl", include_str!("../../locales/en/admin.ftl")),
    ("ja", "admin.ftl", include_str!("../../locales/ja/admin.ftl")),
];

/// The language every other falls back to.
pub const FALLBACK: &str = "en";

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{file}: {errors}")]
    Syntax { file: String, errors: String },
    #[error("{file}: {errors}")]
    Duplicate { file: String, errors: String },
    #[error("'{0}' is not a language tag (BCP 47), so locales/{0} is not a language folder")]
    BadTag(String),
    #[error("{0}: {1}")]
    Read(String, std::io::Error),
    #[error("no English catalog: every message falls back to English")]
    NoEnglish,
}

/// Every language's messages.
pub struct Catalogs {
    bundles: BTreeMap<String, FluentBundle<FluentResource>>,
    /// Each language's message ids (a bundle cannot list them).
    ids: BTreeMap<String, BTreeSet<String>>,
}

impl std::fmt::Debug for Catalogs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalogs").field("languages", &self.languages()).finish()
    }
}

impl Catalogs {
    /// The compiled-in catalogs only.
    pub fn embedded() -> Result<Catalogs, CatalogError> {
        let mut files: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for (lang, file, text) in EMBEDDED {
            files.entry(lang.to_string()).or_default().push((file.to_string(), text.to_string()));
        }
        Catalogs::build(files)
    }

    /// The compiled-in catalogs, with `dir`'s language folders added (a folder's
    /// file replaces the compiled-in file of the same name). No folder: the
    /// compiled-in ones alone.
    pub fn load(dir: &Path) -> Result<Catalogs, CatalogError> {
        let mut files: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for (lang, file, text) in EMBEDDED {
            files.entry(lang.to_string()).or_default().insert(file.to_string(), text.to_string());
        }
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let lang = entry.file_name().to_string_lossy().into_owned();
                if !entry.path().is_dir() || lang.starts_with('.') {
                    continue;
                }
                let read = std::fs::read_dir(entry.path()).map_err(|e| CatalogError::Read(lang.clone(), e))?;
                for f in read.flatten() {
                    let name = f.file_name().to_string_lossy().into_owned();
                    if !name.ends_with(".ftl") {
                        continue;
                    }
                    let path = f.path();
                    let text = std::fs::read_to_string(&path)
                        .map_err(|e| CatalogError::Read(path.display().to_string(), e))?;
                    files.entry(lang.clone()).or_default().insert(name, text);
                }
            }
        }
        Catalogs::build(files.into_iter().map(|(l, f)| (l, f.into_iter().collect())).collect())
    }

    fn build(files: BTreeMap<String, Vec<(String, String)>>) -> Result<Catalogs, CatalogError> {
        let (mut bundles, mut ids) = (BTreeMap::new(), BTreeMap::new());
        for (lang, files) in files {
            let lang_ids: &mut BTreeSet<String> = ids.entry(lang.clone()).or_default();
            let id: LanguageIdentifier = lang.parse().map_err(|_| CatalogError::BadTag(lang.clone()))?;
            let mut bundle = FluentBundle::new_concurrent(vec![id]);
            // Pages are HTML escaped by the template engine; Unicode isolation marks
            // around arguments would show up in text mails and form values.
            bundle.set_use_isolating(false);
            for (file, text) in files {
                let name = format!("locales/{lang}/{file}");
                let resource = FluentResource::try_new(text).map_err(|(_, errors)| CatalogError::Syntax {
                    file: name.clone(),
                    errors: errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "),
                })?;
                for entry in resource.entries() {
                    if let fluent_syntax::ast::Entry::Message(m) = entry {
                        lang_ids.insert(m.id.name.to_string());
                    }
                }
                bundle.add_resource(resource).map_err(|errors| CatalogError::Duplicate {
                    file: name,
                    errors: errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "),
                })?;
            }
            bundles.insert(lang, bundle);
        }
        if !bundles.contains_key(FALLBACK) {
            return Err(CatalogError::NoEnglish);
        }
        Ok(Catalogs { bundles, ids })
    }

    /// The languages with a catalog, English first.
    pub fn languages(&self) -> Vec<&str> {
        let mut out = vec![FALLBACK];
        out.extend(self.bundles.keys().map(String::as_str).filter(|l| *l != FALLBACK));
        out
    }

    pub fn has(&self, lang: &str) -> bool {
        self.bundles.contains_key(lang)
    }

    /// Whether `lang` has its own `id` (not English's).
    pub fn has_message(&self, lang: &str, id: &str) -> bool {
        self.bundles.get(lang).is_some_and(|b| b.has_message(id))
    }

    /// Message `id` in `lang` with `args`; English when `lang` lacks it, the id
    /// itself when English does too (logged: a template names a message nobody wrote).
    pub fn message(&self, lang: &str, id: &str, args: Option<&FluentArgs>) -> String {
        for l in [lang, FALLBACK] {
            let Some(bundle) = self.bundles.get(l) else { continue };
            let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) else { continue };
            let mut errors = vec![];
            let text = bundle.format_pattern(pattern, args, &mut errors);
            if !errors.is_empty() {
                tracing::warn!(lang = l, id, ?errors, "message formatted with errors");
            }
            return text.into_owned();
        }
        tracing::warn!(lang, id, "no such message");
        id.to_string()
    }

    /// Every message id of `lang`'s catalog.
    pub fn ids(&self, lang: &str) -> Vec<&str> {
        self.ids.get(lang).map(|s| s.iter().map(String::as_str).collect()).unwrap_or_default()
    }
}

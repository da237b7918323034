//! A fresh, empty database per test on each backend.

use dialticket::events::CatalogFile;
use dialticket::store::Store;

pub use crate::helpers::{fresh_database, Db};

/// A connected store with `catalog` (TOML text, its relative times fixed now) loaded.
pub async fn store_with(backend: &str, catalog: &str) -> Option<(Store, Db)> {
    let (url, db) = fresh_database(backend).await?;
    let store = Store::connect(&url).await.expect("connect and migrate");
    let file = CatalogFile::parse(catalog, chrono::Utc::now()).expect("catalog");
    store.load_catalog(&file).await.expect("load catalog");
    Some((store, db))
}

/// Generate one test per backend from an `async fn(&str)` taking the backend name.
#[macro_export]
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        pub mod sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 4)] async fn $name() { super::$name("sqlite").await } )*
        }
        pub mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 4)] async fn $name() { super::$name("postgres").await } )*
        }
    };
}

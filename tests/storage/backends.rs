//! A fresh, empty database per test on each backend.

use dialticket::events::CatalogFile;
use dialticket::store::Store;
use sqlx::Connection;

pub enum Db {
    Sqlite(tempfile::TempDir),
    Postgres(String),
}

/// The PostgreSQL server to test against, if any. In CI its absence is an error.
pub fn postgres_url() -> Option<String> {
    match std::env::var("DIALTICKET_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok() => {
            panic!("CI must run the storage tests on PostgreSQL too: run scripts/test.sh")
        }
        _ => {
            eprintln!("DIALTICKET_TEST_POSTGRES_URL is not set: PostgreSQL variant skipped (scripts/test.sh sets it)");
            None
        }
    }
}

/// A database URL for a new, empty database on `backend` ("sqlite" or "postgres").
pub async fn fresh_database(backend: &str) -> Option<(String, Db)> {
    match backend {
        "sqlite" => {
            let dir = tempfile::tempdir().unwrap();
            Some((format!("sqlite://{}", dir.path().join("t.db").display()), Db::Sqlite(dir)))
        }
        "postgres" => {
            let server = postgres_url()?;
            let name = format!("dt_{}", uuid::Uuid::new_v4().simple());
            let mut admin = sqlx::PgConnection::connect(&server).await.expect("connect to the test PostgreSQL");
            sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("create test database");
            let base = server.rsplit_once('/').map(|(b, _)| b).unwrap_or(&server);
            let url = format!("{base}/{name}");
            Some((url.clone(), Db::Postgres(url)))
        }
        other => panic!("unknown backend {other}"),
    }
}

/// A connected store with `catalog` (TOML text) loaded.
pub async fn store_with(backend: &str, catalog: &str) -> Option<(Store, Db)> {
    let (url, db) = fresh_database(backend).await?;
    let store = Store::connect(&url).await.expect("connect and migrate");
    let file: CatalogFile = toml::from_str(catalog).expect("catalog");
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

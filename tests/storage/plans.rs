//! The statements on every page's path find their rows by index, on both
//! backends: a purchase's seats are read by purchase on each ticket and admission
//! page (the hardening issue, item 11: without an index a ticket page fell from
//! 785 to 207 requests/s once an unrelated 200,000-seat event was loaded).

use sqlx::Connection;

use crate::backends::fresh_database;
use crate::on_every_backend;

/// The plan each backend makes for `SELECT … FROM seats WHERE purchase_id = ?`.
async fn seats_of_a_purchase_use_an_index(backend: &str) {
    let Some((url, _db)) = fresh_database(backend).await else { return };
    dialticket::store::Store::connect(&url).await.expect("connect and migrate");
    let query = "SELECT seat_code FROM seats WHERE purchase_id = 'p1'";
    let plan: Vec<String> = match backend {
        "sqlite" => {
            let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
            let rows: Vec<(i64, i64, i64, String)> =
                sqlx::query_as(&format!("EXPLAIN QUERY PLAN {query}")).fetch_all(&mut c).await.unwrap();
            rows.into_iter().map(|r| r.3).collect()
        }
        _ => {
            let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
            // An empty table is scanned whatever indexes it has: ask what it would use.
            sqlx::query("SET enable_seqscan = off").execute(&mut c).await.unwrap();
            let rows: Vec<(String,)> = sqlx::query_as(&format!("EXPLAIN {query}")).fetch_all(&mut c).await.unwrap();
            rows.into_iter().map(|r| r.0).collect()
        }
    };
    assert!(plan.iter().any(|l| l.contains("seats_purchase")), "{backend}: {plan:?}");
}

on_every_backend!(seats_of_a_purchase_use_an_index);

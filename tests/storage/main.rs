//! Storage tests, run against every backend: SQLite always, PostgreSQL when
//! `DIALTICKET_TEST_POSTGRES_URL` names a server (scripts/test.sh starts a
//! throwaway cluster with `pg_virtualenv` and sets it; in CI it is required).

#[allow(dead_code)]
#[path = "../e2e/helpers.rs"]
mod helpers;

mod backends;
mod crash;
mod door;
mod events;
mod holder;
mod new_purchase;
mod outbox;
mod phone_users;
mod plans;
mod process;
mod races;
mod rush;
mod two_gateways;
mod waitlist;
mod wal;

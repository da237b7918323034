//! Phone users: who called (or was named by a web order), under which user
//! number, where their mail goes, the handset their links were opened on, and
//! their profile. Every call's transaction finds or registers its caller here
//! ([`StoreTx::touch_caller`], [`StoreTx::touch_phone_users`]).

use std::collections::HashMap;

use sqlx::any::AnyRow;
use sqlx::Row;

use super::tx::{arguments, json_param, json_rows, Value};
use super::{Store, StoreError, StoreTx};
use crate::domain::Timestamp;
use crate::phone::PhoneNumber;

/// A phone user (seed 000 fig. 10).
#[derive(Debug, Clone, serde::Serialize)]
pub struct PhoneUser {
    pub phone: PhoneNumber,
    pub user_number: String,
    /// The registered address (`None`: the carrier's, see [`crate::mail::address_for`]).
    pub mail_address: Option<String>,
    /// Raised by each change of the registered address (see [`crate::mail::registration`]).
    pub mail_epoch: i64,
    /// When the registered address last changed.
    pub mail_changed_at: Option<i64>,
    /// The browser of the phone that opened its purchase link (the seed's model ID).
    pub handset_model: Option<String>,
    pub language: String,
    pub registered_at: i64,
    pub last_access_at: i64,
    pub access_count: i64,
    /// When this phone last called us (`None`: never — a web order named it).
    pub last_call_at: Option<i64>,
}

impl PhoneUser {
    /// Whether this phone ever called us (rather than being named by a web order).
    pub fn has_called(&self) -> bool {
        self.last_call_at.is_some()
    }

    /// A user as a first call registers it at `at` (before it is stored).
    pub fn new(phone: PhoneNumber, user_number: String, language: &str, at: i64) -> PhoneUser {
        PhoneUser {
            phone,
            user_number,
            mail_address: None,
            mail_epoch: 0,
            mail_changed_at: None,
            handset_model: None,
            language: language.to_string(),
            registered_at: at,
            last_access_at: at,
            access_count: 0,
            last_call_at: Some(at),
        }
    }
}

/// A phone user to find or register (see [`StoreTx::touch_phone_users`]).
pub struct TouchUser<'a> {
    pub phone: &'a PhoneNumber,
    pub language: &'a str,
    /// The user number should this phone be new.
    pub user_number: &'a str,
    pub at: Timestamp,
    /// The phone is calling us now (a web order naming it is not a call).
    pub called: bool,
}

/// A random user number for a new phone user (seed 000: issued on the first call).
///
/// Each number is drawn uniformly, but they are handed out from a sorted batch
/// of [`USER_NUMBER_BATCH`]: consecutive new users get ascending numbers (but
/// for one wrap from the largest to the smallest), so
/// their entries in the user-number index (and the journal's entity index,
/// keyed by it) land on neighbouring B-tree pages instead of one random page
/// each. The database then writes a few pages per commit of new callers where
/// it wrote one per caller.
pub fn new_user_number() -> String {
    static BATCH: std::sync::Mutex<Vec<u64>> = std::sync::Mutex::new(Vec::new());
    let mut batch = BATCH.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if batch.is_empty() {
        batch.extend((0..USER_NUMBER_BATCH).map(|_| rand::random_range(0..10_000_000_000u64)));
        // Descending, so that `pop` hands them out ascending; started at a random
        // place (wrapping round once), so the first number after a start is not
        // the batch's smallest.
        batch.sort_unstable_by(|a, b| b.cmp(a));
        let start = rand::random_range(0..batch.len());
        batch.rotate_left(start);
    }
    let n = batch.pop().unwrap_or_else(|| rand::random_range(0..10_000_000_000u64));
    format!("{n:010}")
}

/// How many user numbers are drawn at once (see [`new_user_number`]).
pub const USER_NUMBER_BATCH: usize = 16_384;

impl Store {
    pub async fn phone_user(&self, phone: &PhoneNumber) -> Result<Option<PhoneUser>, StoreError> {
        let r = sqlx::query("SELECT * FROM phone_users WHERE phone = $1")
            .bind(phone.as_str())
            .fetch_optional(&self.pool)
            .await?;
        r.map(|r| phone_user_from_row(&r)).transpose()
    }

    /// The phone user with `user_number` (e.g. a purchase's payer).
    pub async fn phone_user_by_number(&self, user_number: &str) -> Result<Option<PhoneUser>, StoreError> {
        let r = sqlx::query("SELECT * FROM phone_users WHERE user_number = $1")
            .bind(user_number)
            .fetch_optional(&self.pool)
            .await?;
        r.map(|r| phone_user_from_row(&r)).transpose()
    }

    /// A phone user's profile (`None`: never saved).
    pub async fn profile(&self, user_number: &str) -> Result<Option<crate::profile::Profile>, StoreError> {
        let r = sqlx::query("SELECT name, postal_address, birth_date FROM user_profiles WHERE user_number = $1")
            .bind(user_number)
            .fetch_optional(&self.pool)
            .await?;
        r.map(|r| {
            Ok(crate::profile::Profile {
                name: r.try_get("name")?,
                postal_address: r.try_get("postal_address")?,
                birth_date: r.try_get("birth_date")?,
            })
        })
        .transpose()
    }

    /// The profile of the user whose phone holds a ticket (`None`: no user or no profile).
    pub async fn holder_profile(&self, phone: &PhoneNumber) -> Result<Option<crate::profile::Profile>, StoreError> {
        match self.phone_user(phone).await? {
            Some(user) => self.profile(&user.user_number).await,
            None => Ok(None),
        }
    }
}

impl StoreTx {
    /// Find or create the phone user of a caller and count the access: one
    /// upsert (this is on every call's path). A new user gets a random user
    /// number (seed 000: issued on first call); should it collide with another
    /// user's, the unique index says so and the whole transaction is retried
    /// ([`StoreError::Conflict`]) with a new draw. The call is recorded as the
    /// phone's latest ([`PhoneUser::has_called`]).
    pub async fn touch_caller(
        &mut self,
        phone: &PhoneNumber,
        language: &str,
        at: Timestamp,
    ) -> Result<PhoneUser, StoreError> {
        self.touch_one(phone, language, at, true).await
    }

    /// [`StoreTx::touch_caller`] for a phone that is not calling: one named by a
    /// web order, or acting on a page its purchase link opened.
    pub async fn touch_phone_user(
        &mut self,
        phone: &PhoneNumber,
        language: &str,
        at: Timestamp,
    ) -> Result<PhoneUser, StoreError> {
        self.touch_one(phone, language, at, false).await
    }

    async fn touch_one(
        &mut self,
        phone: &PhoneNumber,
        language: &str,
        at: Timestamp,
        called: bool,
    ) -> Result<PhoneUser, StoreError> {
        let user_number = new_user_number();
        let touch = TouchUser { phone, language, user_number: &user_number, at, called };
        let mut users = self.touch_phone_users(&[touch]).await?;
        users.pop().ok_or_else(|| StoreError::Corrupt(format!("no phone user returned for {phone}")))
    }

    /// [`StoreTx::touch_phone_user`] for many phones in one statement, each new one
    /// registered under its `user_number` (drawn with [`new_user_number`] beforehand,
    /// e.g. to render a mail ahead); the users
    /// come back in the order asked. The phones must be distinct (PostgreSQL
    /// refuses to update one row twice in a statement).
    pub async fn touch_phone_users(&mut self, users: &[TouchUser<'_>]) -> Result<Vec<PhoneUser>, StoreError> {
        // Rows are locked in phone order, so concurrent transactions (PostgreSQL)
        // queue on a shared phone rather than deadlock.
        let mut sorted: Vec<&TouchUser> = users.iter().collect();
        sorted.sort_by_key(|u| u.phone.as_str());
        let mut returned = HashMap::new();
        if !sorted.is_empty() {
            let sql = format!(
                "INSERT INTO phone_users (phone, user_number, language, registered_at, last_access_at, access_count, last_call_at)
                 {}
                 ON CONFLICT (phone) DO UPDATE
                    SET access_count = phone_users.access_count + 1, last_access_at = excluded.last_access_at,
                        last_call_at = COALESCE(excluded.last_call_at, phone_users.last_call_at)
                 RETURNING *",
                json_rows(self.params, 1, "tttiiii")
            );
            let rows: Vec<[Value; 7]> = sorted
                .iter()
                .map(|u| {
                    [
                        u.phone.as_str().into(),
                        u.user_number.into(),
                        u.language.into(),
                        u.at.into(),
                        u.at.into(),
                        1i64.into(),
                        u.called.then_some(u.at).into(),
                    ]
                })
                .collect();
            let (sql, values) = self.after_deferred(sql, vec![json_param(&rows)?.into()]).await?;
            let q = sqlx::query_with(&sql, arguments(&values)?);
            // RETURNING gives no order: the rows are matched to the phones asked for.
            for r in q.fetch_all(self.raw_conn()).await? {
                let user = phone_user_from_row(&r)?;
                returned.insert(user.phone.as_str().to_string(), user);
            }
        }
        let mut out = Vec::with_capacity(users.len());
        for u in users {
            let user = returned
                .remove(u.phone.as_str())
                .ok_or_else(|| StoreError::Corrupt(format!("no phone user returned for {}", u.phone)))?;
            if user.access_count == 1 {
                self.journal_at("phone-user", &user.user_number, "registered", None, None, "system", "{}", u.at);
            }
            out.push(user);
        }
        Ok(out)
    }

    /// A phone user, without counting an access.
    pub async fn phone_user(&mut self, phone: &PhoneNumber) -> Result<Option<PhoneUser>, StoreError> {
        let r = sqlx::query("SELECT * FROM phone_users WHERE phone = $1")
            .bind(phone.as_str())
            .fetch_optional(self.conn().await?)
            .await?;
        r.map(|r| phone_user_from_row(&r)).transpose()
    }

    pub async fn phone_user_by_number(&mut self, user_number: &str) -> Result<Option<PhoneUser>, StoreError> {
        let r = sqlx::query("SELECT * FROM phone_users WHERE user_number = $1")
            .bind(user_number)
            .fetch_optional(self.conn().await?)
            .await?;
        r.map(|r| phone_user_from_row(&r)).transpose()
    }

    /// Register `address` as where `phone`'s mail goes (`None`: back to the
    /// carrier's address), journalled as `mail-address-changed` by `actor`; the
    /// user's mail epoch goes one up (older confirmation links go stale). A phone
    /// that never called is registered here with no access counted (an admin's
    /// mapping made ahead of the first call). Returns the user as it is now.
    pub async fn set_mail_address(
        &mut self,
        phone: &PhoneNumber,
        address: Option<&str>,
        actor: &str,
        at: Timestamp,
    ) -> Result<PhoneUser, StoreError> {
        let r = sqlx::query(
            "INSERT INTO phone_users
                (phone, user_number, language, registered_at, last_access_at, access_count,
                 mail_address, mail_epoch, mail_changed_at)
             VALUES ($1, $2, 'en', $3, $3, 0, $4, 1, $3)
             ON CONFLICT (phone) DO UPDATE
                SET mail_address = excluded.mail_address, mail_changed_at = excluded.mail_changed_at,
                    mail_epoch = phone_users.mail_epoch + 1
             RETURNING *",
        )
        .bind(phone.as_str())
        .bind(new_user_number())
        .bind(at)
        .bind(address)
        .fetch_one(self.conn().await?)
        .await?;
        let user = phone_user_from_row(&r)?;
        let detail = serde_json::json!({ "address": address }).to_string();
        self.journal_at("phone-user", &user.user_number, "mail-address-changed", None, None, actor, &detail, at);
        Ok(user)
    }

    /// Save a phone user's profile (all of it: a field left empty is cleared),
    /// journalled as `profile-updated` with the fields given, not their values.
    pub async fn save_profile(
        &mut self,
        user_number: &str,
        profile: &crate::profile::Profile,
        actor: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO user_profiles (user_number, name, postal_address, birth_date, updated_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (user_number) DO UPDATE
                SET name = excluded.name, postal_address = excluded.postal_address,
                    birth_date = excluded.birth_date, updated_at = excluded.updated_at",
        )
        .bind(user_number)
        .bind(profile.name.as_deref())
        .bind(profile.postal_address.as_deref())
        .bind(profile.birth_date.as_deref())
        .bind(at)
        .execute(self.conn().await?)
        .await?;
        let detail = serde_json::json!({ "fields": profile.fields() }).to_string();
        self.journal_at("phone-user", user_number, "profile-updated", None, None, actor, &detail, at);
        Ok(())
    }

    /// Record the handset a phone user's purchase link was opened on (seed 000's
    /// model ID), when it differs from the one recorded.
    pub async fn note_handset(&mut self, phone: &PhoneNumber, model: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE phone_users SET handset_model = $2
             WHERE phone = $1 AND (handset_model IS NULL OR handset_model <> $2)",
        )
        .bind(phone.as_str())
        .bind(model)
        .execute(self.conn().await?)
        .await?;
        Ok(())
    }
}

/// A phone number column (E.164): anything else is a corrupt row, not a panic.
pub(super) fn stored_phone(s: &str) -> Result<PhoneNumber, StoreError> {
    PhoneNumber::parse(s).map_err(|_| StoreError::Corrupt(format!("phone number '{s}'")))
}

fn phone_user_from_row(r: &AnyRow) -> Result<PhoneUser, StoreError> {
    let p: String = r.try_get("phone")?;
    Ok(PhoneUser {
        phone: stored_phone(&p)?,
        user_number: r.try_get("user_number")?,
        mail_address: r.try_get("mail_address")?,
        mail_epoch: r.try_get("mail_epoch")?,
        mail_changed_at: r.try_get("mail_changed_at")?,
        handset_model: r.try_get("handset_model")?,
        language: r.try_get("language")?,
        registered_at: r.try_get("registered_at")?,
        last_access_at: r.try_get("last_access_at")?,
        access_count: r.try_get("access_count")?,
        last_call_at: r.try_get("last_call_at")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_numbers_are_ten_random_digits_handed_out_ascending() {
        let drawn: Vec<String> = (0..2_000).map(|_| new_user_number()).collect();
        assert!(drawn.iter().all(|n| n.len() == 10 && n.bytes().all(|b| b.is_ascii_digit())), "{drawn:?}");
        let numbers: Vec<u64> = drawn.iter().map(|n| n.parse().unwrap()).collect();
        // Ascending but for one wrap within a batch and one new batch at most (other
        // tests draw too, from the same batches).
        let descents = numbers.windows(2).filter(|w| w[1] < w[0]).count();
        assert!(descents <= 2, "{descents} descents");
        // Spread over the whole range, not a counter: 2,000 ascending draws of a
        // 16,384 batch cover about an eighth of it.
        let span = numbers.iter().max().unwrap() - numbers.iter().min().unwrap();
        assert!(span > 100_000_000, "span {span}");
    }
}

//! The one way to change anything: a [`Change`] owns the write transaction,
//! who is acting and when, and its [`Change::commit`] is the only way out. The
//! commit takes the audit event and the scopes the change makes stale, so a
//! change cannot land without its event, nor without saying which
//! verifications it affects (an empty list says "none", on purpose). Dropping
//! a change rolls it back.

use chrono::{DateTime, Utc};
use sea_orm::DatabaseTransaction;

use crate::base::error::DomainResult;
use crate::base::ids::UserId;
use crate::base::origin::Origin;
use crate::coherence::Scope;
use crate::db::Turn;
use crate::policy::principal::Principal;
use crate::warden::audit::{self, Actor, Event};
use crate::warden::handle::Keywarden;

#[must_use = "a change that is not committed is rolled back"]
pub(crate) struct Change<'a> {
    warden: &'a Keywarden,
    txn: DatabaseTransaction,
    actor: Actor,
    /// The request the change is made for, if any.
    origin: Origin,
    now: DateTime<Utc>,
    /// Declared after `txn`, so dropped after it: the next writer begins once
    /// this transaction has ended.
    _turn: Turn,
}

impl Keywarden {
    /// Begins a change made by `caller` at `now`.
    pub(crate) async fn change(
        &self,
        caller: &Principal,
        now: DateTime<Utc>,
    ) -> DomainResult<Change<'_>> {
        let (turn, txn) = self.writes.begin(&self.db).await?;
        let actor = Actor::of(&txn, caller).await?;
        Ok(Change {
            warden: self,
            txn,
            actor,
            origin: Origin::current(),
            now,
            _turn: turn,
        })
    }

    /// Begins a change keywarden makes itself (first start, `bootstrap`).
    pub(crate) async fn system_change(&self, now: DateTime<Utc>) -> DomainResult<Change<'_>> {
        self.system_change_by(Actor::system(), now).await
    }

    /// Begins a change keywarden makes for someone with no principal (a
    /// leak's reporter), named `name` in the log; about `concerning`'s own
    /// credential, if it is one.
    pub(crate) async fn system_change_as(
        &self,
        name: String,
        concerning: Option<UserId>,
        now: DateTime<Utc>,
    ) -> DomainResult<Change<'_>> {
        self.system_change_by(Actor::system_for(name, concerning), now)
            .await
    }

    async fn system_change_by(&self, actor: Actor, now: DateTime<Utc>) -> DomainResult<Change<'_>> {
        let (turn, txn) = self.writes.begin(&self.db).await?;
        Ok(Change {
            warden: self,
            txn,
            actor,
            origin: Origin::current(),
            now,
            _turn: turn,
        })
    }
}

impl Change<'_> {
    /// The transaction to read and write in.
    pub(crate) fn txn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// When the change is made: every time the change stores is this one, or
    /// reckoned from it, so that no two fields of one change disagree.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// When the change is made, as stored.
    pub(crate) fn now_ms(&self) -> i64 {
        crate::base::time::to_millis(self.now)
    }

    /// Records an event besides the one [`Change::commit`] records.
    pub(crate) async fn also_record(&self, event: Event) -> DomainResult<()> {
        audit::record(&self.txn, &self.actor, &self.origin, event, self.now).await
    }

    /// Records every one of `events`, in order, and commits: for a change of
    /// several objects, each with its own event. At least one is needed.
    pub(crate) async fn commit_each(
        self,
        events: Vec<Event>,
        invalidates: &[Scope],
    ) -> DomainResult<()> {
        let mut events = events.into_iter();
        let Some(last) = events.next_back() else {
            return Err(crate::base::error::DomainError::Internal(
                "a change is committed with at least one event".to_owned(),
            ));
        };
        for event in events {
            self.also_record(event).await?;
        }
        self.commit(last, invalidates).await
    }

    /// Records `event` and commits; returns once every process will refuse
    /// what `invalidates` made untrue (see [`crate::coherence`]).
    pub(crate) async fn commit(self, event: Event, invalidates: &[Scope]) -> DomainResult<()> {
        audit::record(&self.txn, &self.actor, &self.origin, event, self.now).await?;
        self.warden
            .coherence
            .commit(&self.warden.db, self.txn, invalidates)
            .await?;
        Ok(())
    }
}

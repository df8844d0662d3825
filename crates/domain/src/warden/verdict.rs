//! What verifying a presented credential concludes: who it is, or why not.

use crate::coherence::{Conclusion, Credential};
use crate::policy::grant::Grant;
use crate::policy::principal::Principal;
use crate::policy::ranges::AllowedFrom;

/// A credential that passed every check, enough to answer the next lookup.
#[derive(Clone, Debug)]
pub(crate) struct Verified {
    pub principal: Principal,
    pub credential: Credential,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    /// Where the credential works (see `policy::ranges`).
    pub allowed: AllowedFrom,
}

/// Why a well-formed credential was refused after its rows were read. Each one
/// holds until a change to the scopes it was read under.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    Unknown,
    Revoked,
    Expired,
    Disabled,
    Mismatch,
    /// A key its account's policy no longer allows (see
    /// `credentials::rules`).
    Policy,
}

pub(crate) type Verdict = Result<Verified, Refusal>;

impl Conclusion for Verdict {
    fn accepted(&self) -> bool {
        self.is_ok()
    }

    fn last_used_at(&self) -> Option<i64> {
        self.as_ref().ok().and_then(|v| v.last_used_at)
    }

    /// One, and one more for each KiB its groups' grants hold.
    fn weight(&self) -> u64 {
        let grants = match self.as_ref().map(|v| &v.principal) {
            Ok(Principal::ServiceAccount(s)) => &s.grants[..],
            Ok(Principal::User(u)) => &u.grants[..],
            Err(_) => &[],
        };
        let bytes: usize = grants.iter().map(Grant::size).sum();
        1 + (bytes / 1024) as u64
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::base::ids::{AccountId, GrantId, GroupId, PermissionSetId, TokenId, UserId};
    use crate::policy::grant::Coverage;
    use crate::policy::principal::UserPrincipal;

    fn verified(grants: Vec<Grant>) -> Verdict {
        Ok(Verified {
            principal: Principal::User(UserPrincipal {
                user_id: UserId(1),
                username: "u".to_owned(),
                memberships: vec![],
                token_id: TokenId(1),
                grants: grants.into(),
            }),
            credential: Credential::Token(TokenId(1)),
            allowed: AllowedFrom::default(),
            expires_at: None,
            last_used_at: None,
        })
    }

    #[test]
    fn only_an_acceptance_is_accepted_and_carries_its_last_use() {
        let mut ok = verified(vec![]);
        if let Ok(v) = &mut ok {
            v.last_used_at = Some(7);
        }
        assert!(ok.accepted());
        assert_eq!(ok.last_used_at(), Some(7));
        for refusal in [
            Refusal::Unknown,
            Refusal::Revoked,
            Refusal::Expired,
            Refusal::Disabled,
            Refusal::Mismatch,
        ] {
            let refused: Verdict = Err(refusal);
            assert!(!refused.accepted());
            assert_eq!(refused.last_used_at(), None);
        }
    }

    #[test]
    fn a_verdict_weighs_one_and_a_kib_more_for_each_kib_of_grants() {
        assert_eq!(Err::<Verified, _>(Refusal::Unknown).weight(), 1);
        assert_eq!(verified(vec![]).weight(), 1);
        let permissions: Arc<[Box<str>]> = (0..100)
            .map(|i| format!("resource:action{i:03}").into_boxed_str())
            .collect();
        let grant = |id| Grant {
            id: GrantId(id),
            account_id: AccountId(1),
            group_id: GroupId(1),
            permission_set_id: PermissionSetId(1),
            permissions: permissions.clone(),
            coverage: Coverage::All,
        };
        // Each grant holds 64 + 100 * (18 + 16) bytes: 3,464.
        assert_eq!(verified(vec![grant(1)]).weight(), 1 + 3);
        assert_eq!(verified((0..10).map(grant).collect()).weight(), 1 + 33);
    }
}

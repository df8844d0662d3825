//! What verifying a presented credential concludes: who it is, or why not.

use crate::coherence::{Conclusion, Credential};
use crate::principal::Principal;

/// A credential that passed every check, enough to answer the next lookup.
#[derive(Clone, Debug)]
pub(crate) struct Verified {
    pub principal: Principal,
    pub credential: Credential,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
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
}

pub(crate) type Verdict = Result<Verified, Refusal>;

impl Conclusion for Verdict {
    fn accepted(&self) -> bool {
        self.is_ok()
    }

    fn last_used_at(&self) -> Option<i64> {
        self.as_ref().ok().and_then(|v| v.last_used_at)
    }
}

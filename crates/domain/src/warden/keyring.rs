//! The peppers credentials are digested with. Only `HMAC-SHA256(pepper, token)`
//! is stored: the [`Keyring`] holds the current pepper, which makes new
//! digests, and any retired ones, which still verify. Lookups go by digest,
//! and a stored digest is compared in constant time.

use std::fmt;

use hmac::{Hmac, Mac};
use rand::TryRngCore;
use rand::rngs::OsRng;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

/// One HMAC key. Its id is derived from the key, so a configuration names a
/// pepper by its value alone and the id never reveals it.
#[derive(Clone)]
pub struct Pepper {
    id: String,
    mac: Hmac<Sha256>,
}

impl Pepper {
    /// The shortest pepper accepted, in bytes.
    pub const MIN_LEN: usize = 32;

    pub fn new(key: &[u8]) -> Result<Self, String> {
        if key.len() < Self::MIN_LEN {
            return Err(format!(
                "a pepper must be at least {} bytes long (got {})",
                Self::MIN_LEN,
                key.len()
            ));
        }
        let mac = Hmac::<Sha256>::new_from_slice(key).map_err(|e| e.to_string())?;
        let mut hasher = Sha256::new();
        hasher.update(b"keywarden pepper id\0");
        hasher.update(key);
        let id = hasher.finalize()[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Self { id, mac })
    }

    /// A new random pepper, as the text to keep in a pepper file.
    pub fn generate() -> String {
        let mut bytes = [0u8; 32];
        #[allow(clippy::expect_used)]
        OsRng
            .try_fill_bytes(&mut bytes)
            .expect("the operating system's random number generator failed");
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    fn digest(&self, token: &str) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(token.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

impl fmt::Debug for Pepper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pepper")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// The current pepper and the retired ones that still verify.
#[derive(Clone, Debug)]
pub struct Keyring {
    current: Pepper,
    retired: Vec<Pepper>,
}

/// The digests of `candidates`, for a lookup by digest.
pub(crate) fn digests(candidates: &[StoredDigest]) -> Vec<Vec<u8>> {
    candidates.iter().map(|c| c.digest.to_vec()).collect()
}

/// A digest and the id of the pepper that made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StoredDigest {
    pub pepper_id: String,
    pub digest: [u8; 32],
}

impl Keyring {
    pub fn new(current: Pepper, retired: Vec<Pepper>) -> Self {
        Self { current, retired }
    }

    pub fn current_id(&self) -> &str {
        self.current.id()
    }

    /// The digest to store for a newly issued token.
    pub(crate) fn digest(&self, token: &str) -> StoredDigest {
        StoredDigest {
            pepper_id: self.current.id.clone(),
            digest: self.current.digest(token),
        }
    }

    /// A presented string's digest under the current pepper: how the cache
    /// names a token.
    pub(crate) fn current_digest(&self, presented: &str) -> [u8; 32] {
        self.current.digest(presented)
    }

    /// Every digest a well-formed secret could be stored under, one per known
    /// pepper; `current` is its [`Keyring::current_digest`], already made.
    pub(crate) fn candidates(&self, token: &str, current: [u8; 32]) -> Vec<StoredDigest> {
        let current = StoredDigest {
            pepper_id: self.current.id.clone(),
            digest: current,
        };
        std::iter::once(current)
            .chain(self.retired.iter().map(|p| StoredDigest {
                pepper_id: p.id.clone(),
                digest: p.digest(token),
            }))
            .collect()
    }

    /// Whether a stored row matches one of the candidates, compared in constant
    /// time, and under the pepper the row says made it.
    pub(crate) fn matches(candidates: &[StoredDigest], pepper_id: &str, stored: &[u8]) -> bool {
        candidates
            .iter()
            .filter(|c| c.pepper_id == pepper_id)
            .any(|c| bool::from(c.digest.as_slice().ct_eq(stored)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A token's text, as a credential would present it.
    const TOKEN: &str = "lmr_pat_0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

    #[test]
    fn peppers_are_long_and_named_by_a_stable_id() {
        assert!(Pepper::new(b"short").is_err());
        let a = Pepper::new(&[1u8; 32]).map(|p| p.id().to_owned());
        let b = Pepper::new(&[1u8; 32]).map(|p| p.id().to_owned());
        let c = Pepper::new(&[2u8; 32]).map(|p| p.id().to_owned());
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(Pepper::generate().len(), 64);
    }

    #[test]
    fn a_retired_pepper_still_verifies_and_the_current_one_issues() -> Result<(), String> {
        let old = Pepper::new(&[1u8; 32])?;
        let new = Pepper::new(&[2u8; 32])?;
        let stored_under_old = Keyring::new(old.clone(), vec![]).digest(TOKEN);
        let rotated = Keyring::new(new.clone(), vec![old.clone()]);
        let candidates = rotated.candidates(TOKEN, rotated.current_digest(TOKEN));
        assert!(Keyring::matches(
            &candidates,
            old.id(),
            &stored_under_old.digest
        ));
        // The same bytes under another pepper id do not match.
        assert!(!Keyring::matches(
            &candidates,
            new.id(),
            &stored_under_old.digest
        ));
        assert_eq!(rotated.digest(TOKEN).pepper_id, new.id());
        Ok(())
    }
}

//! Credential formats and digests.
//!
//! - service account key: `lmr_sa_{serviceAccountId}_{secret}`
//! - personal access token: `lmr_pat_{secret}`
//! - account invitation: `lmr_inv_{secret}` (redeemed once, never a credential)
//!
//! `{secret}` is 32 base62 characters from the operating system's CSPRNG, then six
//! base62 characters of the CRC32 of everything before them (prefix and id
//! included). The checksum lets [`parse`] refuse a mistyped or made-up token
//! without a database read, and lets secret scanners tell real tokens from noise.
//!
//! Only `HMAC-SHA256(pepper, token)` is stored. The [`Keyring`] holds the current
//! pepper, which makes new digests, and any retired ones, which still verify.

use std::fmt;

use rand::TryRngCore;
use rand::rngs::OsRng;

use crate::base::ids::ServiceAccountId;

pub const SERVICE_ACCOUNT_KEY_PREFIX: &str = "lmr_sa_";
pub const PERSONAL_ACCESS_TOKEN_PREFIX: &str = "lmr_pat_";
pub const INVITATION_PREFIX: &str = "lmr_inv_";
const RANDOM_LEN: usize = 32;
const CHECKSUM_LEN: usize = 6;
const SECRET_LEN: usize = RANDOM_LEN + CHECKSUM_LEN;
/// Longer than any token we issue: `lmr_sa_` + 19 digits + `_` + 38.
pub(crate) const MAX_TOKEN_LEN: usize = 7 + 19 + 1 + SECRET_LEN;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Why a presented string is not a token we could have issued.
#[derive(Copy, Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is empty or too long")]
    Length,
    #[error("the token has characters no token contains")]
    Character,
    #[error("the token does not start with lmr_sa_ or lmr_pat_")]
    Prefix,
    #[error("the service account id in the token is not a valid id")]
    Id,
    #[error("the token's secret has the wrong length")]
    SecretLength,
    #[error("the token's checksum does not match")]
    Checksum,
}

/// What a well-formed token claims to be.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TokenKind {
    ServiceAccountKey(ServiceAccountId),
    PersonalAccessToken,
}

/// A string that has the shape and checksum of a token we issue.
#[derive(Copy, Clone, Debug)]
pub struct ParsedToken<'a> {
    raw: &'a str,
    kind: TokenKind,
}

impl<'a> ParsedToken<'a> {
    pub fn kind(&self) -> TokenKind {
        self.kind
    }

    pub(crate) fn as_str(&self) -> &'a str {
        self.raw
    }
}

/// Checks the shape and checksum of `raw` without touching any storage.
pub fn parse(raw: &str) -> Result<ParsedToken<'_>, TokenError> {
    check_characters(raw)?;
    let (kind, secret) = if let Some(rest) = raw.strip_prefix(SERVICE_ACCOUNT_KEY_PREFIX) {
        let (id, secret) = rest.split_once('_').ok_or(TokenError::Id)?;
        (TokenKind::ServiceAccountKey(parse_id(id)?), secret)
    } else if let Some(secret) = raw.strip_prefix(PERSONAL_ACCESS_TOKEN_PREFIX) {
        (TokenKind::PersonalAccessToken, secret)
    } else {
        return Err(TokenError::Prefix);
    };
    check_secret(raw, secret)?;
    Ok(ParsedToken { raw, kind })
}

/// Checks that `raw` has the shape and checksum of an invitation secret. An
/// invitation is not a credential: [`parse`] refuses it.
pub(crate) fn parse_invitation(raw: &str) -> Result<&str, TokenError> {
    check_characters(raw)?;
    let secret = raw
        .strip_prefix(INVITATION_PREFIX)
        .ok_or(TokenError::Prefix)?;
    check_secret(raw, secret)?;
    Ok(raw)
}

fn check_characters(raw: &str) -> Result<(), TokenError> {
    if raw.is_empty() || raw.len() > MAX_TOKEN_LEN {
        return Err(TokenError::Length);
    }
    if !raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(TokenError::Character);
    }
    Ok(())
}

/// `secret` is the end of `raw` after its prefix (and id): the random part and
/// the checksum of everything before the checksum.
fn check_secret(raw: &str, secret: &str) -> Result<(), TokenError> {
    if secret.len() != SECRET_LEN || secret.contains('_') {
        return Err(TokenError::SecretLength);
    }
    let (body, checksum) = raw.split_at(raw.len() - CHECKSUM_LEN);
    // Public data, so an ordinary comparison is fine here.
    if crc_base62(body).as_bytes() != checksum.as_bytes() {
        return Err(TokenError::Checksum);
    }
    Ok(())
}

/// A canonical positive decimal id: no sign, no leading zero, fits in an `i64`.
fn parse_id(id: &str) -> Result<ServiceAccountId, TokenError> {
    if id.is_empty() || id.starts_with('0') || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TokenError::Id);
    }
    id.parse::<i64>()
        .map(ServiceAccountId)
        .map_err(|_| TokenError::Id)
}

fn crc_base62(body: &str) -> String {
    let mut n = u64::from(crc32fast::hash(body.as_bytes()));
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    out.iter().map(|&b| char::from(b)).collect()
}

/// Draws of 64 random bytes before giving up. Each byte is kept with
/// probability 248/256, so one draw almost always suffices, and a random source
/// that fails this many times running is broken.
const MAX_DRAWS: usize = 64;

/// 32 base62 characters straight from the operating system's CSPRNG, by rejection
/// sampling so that every character is equally likely.
// The OS random source failing is not something a token issuer can work around.
#[allow(clippy::expect_used, clippy::panic)]
fn random_base62() -> String {
    let mut out = String::with_capacity(RANDOM_LEN);
    let mut buf = [0u8; 64];
    for _ in 0..MAX_DRAWS {
        OsRng
            .try_fill_bytes(&mut buf)
            .expect("the operating system's random number generator failed");
        for c in buf.iter().filter_map(|&b| base62_of(b)) {
            out.push(c);
            if out.len() == RANDOM_LEN {
                return out;
            }
        }
    }
    panic!("the operating system's random number generator gave no usable bytes");
}

/// The character a random byte stands for, or `None` for a byte that must be
/// thrown away: 248 = 4 × 62, so the bytes below it map onto the alphabet
/// exactly four times each, and taking any byte at or above it would make the
/// first characters likelier than the rest.
fn base62_of(byte: u8) -> Option<char> {
    (byte < 248).then(|| char::from(BASE62[usize::from(byte % 62)]))
}

fn issue(prefix: String) -> Secret {
    let mut token = prefix;
    token.push_str(&random_base62());
    let checksum = crc_base62(&token);
    token.push_str(&checksum);
    Secret(token)
}

/// A new service account key for `id`.
pub fn issue_service_account_key(id: ServiceAccountId) -> Secret {
    issue(format!("{SERVICE_ACCOUNT_KEY_PREFIX}{id}_"))
}

/// A new personal access token.
pub fn issue_personal_access_token() -> Secret {
    issue(PERSONAL_ACCESS_TOKEN_PREFIX.to_owned())
}

/// A new account invitation's secret.
pub fn issue_invitation() -> Secret {
    issue(INVITATION_PREFIX.to_owned())
}

/// A freshly issued credential. It exists only until the response that carries it
/// is sent: it is never stored, and its `Debug` output hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The token itself, for the one response that shows it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A personal access token made beforehand (by `keywarden new-token`) and
    /// given by the operator: it must be one we could have issued.
    pub fn given_personal_access_token(raw: &str) -> Result<Self, TokenError> {
        match parse(raw.trim())?.kind() {
            TokenKind::PersonalAccessToken => Ok(Secret(raw.trim().to_owned())),
            TokenKind::ServiceAccountKey(_) => Err(TokenError::Prefix),
        }
    }
}

/// How many characters of a secret's random part its shown prefix keeps: about
/// 24 of its 190 bits.
pub const PREFIX_CHARS: usize = 4;

impl Secret {
    /// The start of the token that may be shown and kept in clear: its kind,
    /// its owner's id for a key, and the first [`PREFIX_CHARS`] characters of
    /// its random part.
    pub fn prefix(&self) -> String {
        let random = self.0.rfind('_').map_or(0, |i| i + 1);
        self.0
            .get(..random + PREFIX_CHARS)
            .unwrap_or(&self.0)
            .to_owned()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::warden::keyring::{Keyring, Pepper};

    fn sa_key(id: i64) -> String {
        issue_service_account_key(ServiceAccountId(id))
            .expose()
            .to_owned()
    }

    #[test]
    fn a_prefix_keeps_the_kind_the_owner_and_four_characters_of_the_random_part() {
        let secret = issue_service_account_key(ServiceAccountId(123));
        let prefix = secret.prefix();
        assert_eq!(prefix.len(), "lmr_sa_123_".len() + PREFIX_CHARS);
        assert!(secret.expose().starts_with(&prefix));
        assert!(prefix.starts_with("lmr_sa_123_"));
        let token = issue_personal_access_token();
        assert_eq!(token.prefix().len(), "lmr_pat_".len() + PREFIX_CHARS);
        assert!(token.expose().starts_with(&token.prefix()));
    }

    #[test]
    fn issued_tokens_have_the_documented_shape_and_parse() {
        let key = sa_key(123);
        assert!(key.starts_with("lmr_sa_123_"));
        assert_eq!(key.len(), "lmr_sa_123_".len() + 38);
        assert_eq!(
            parse(&key).map(|t| t.kind()),
            Ok(TokenKind::ServiceAccountKey(ServiceAccountId(123)))
        );
        let pat = issue_personal_access_token().expose().to_owned();
        assert!(pat.starts_with("lmr_pat_"));
        assert_eq!(pat.len(), 8 + 38);
        assert_eq!(
            parse(&pat).map(|t| t.kind()),
            Ok(TokenKind::PersonalAccessToken)
        );
    }

    #[test]
    fn the_longest_token_issued_is_exactly_the_length_limit() {
        let longest = issue_service_account_key(ServiceAccountId(i64::MAX));
        assert_eq!(longest.expose().len(), MAX_TOKEN_LEN);
        assert!(parse(longest.expose()).is_ok());
        let over = format!("{}0", longest.expose());
        assert_eq!(parse(&over).err(), Some(TokenError::Length));
    }

    #[test]
    fn every_character_is_taken_from_exactly_four_byte_values() {
        let mut counts = std::collections::HashMap::new();
        for byte in 0..=u8::MAX {
            match base62_of(byte) {
                Some(c) => *counts.entry(c).or_insert(0) += 1,
                None => assert!(byte >= 248, "byte {byte} thrown away"),
            }
        }
        assert_eq!(counts.len(), 62);
        assert!(counts.values().all(|&n| n == 4), "{counts:?}");
        assert_eq!(base62_of(247), Some('z'));
        assert_eq!(base62_of(248), None);
        assert_eq!(random_base62().len(), RANDOM_LEN);
    }

    #[test]
    fn issued_secrets_differ_and_use_the_whole_alphabet() {
        let a = sa_key(1);
        let b = sa_key(1);
        assert_ne!(a, b);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            seen.extend(issue_personal_access_token().expose()[8..40].chars());
        }
        assert_eq!(
            seen.len(),
            62,
            "200 tokens should use every base62 character"
        );
    }

    #[test]
    fn checksum_is_six_base62_characters_of_crc32() {
        // crc32("") is 0; crc32 of the maximum renders within six characters.
        assert_eq!(crc_base62(""), "000000");
        assert_eq!(crc_base62("a").len(), 6);
        let body = "lmr_pat_0123456789abcdefghijABCDEFGHIJ";
        let n = u64::from(crc32fast::hash(body.as_bytes()));
        let decoded = crc_base62(body).bytes().fold(0u64, |acc, c| {
            acc * 62 + BASE62.iter().position(|&x| x == c).unwrap_or(99) as u64
        });
        assert_eq!(decoded, n);
    }

    #[test]
    fn malformed_tokens_are_refused_with_their_reason() {
        let key = sa_key(42);
        let secret = &key["lmr_sa_42_".len()..];
        let mut flipped = key.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).unwrap_or_default();
        let cases: Vec<(String, TokenError)> = vec![
            (String::new(), TokenError::Length),
            ("x".repeat(200), TokenError::Length),
            (format!("lmr_sk_42_{secret}"), TokenError::Prefix),
            (format!("LMR_SA_42_{secret}"), TokenError::Prefix),
            (format!("ghp_{secret}"), TokenError::Prefix),
            (flipped, TokenError::Checksum),
            (format!("lmr_sa_43_{secret}"), TokenError::Checksum),
            (key[..key.len() - 1].to_owned(), TokenError::SecretLength),
            (format!("{key}A"), TokenError::SecretLength),
            (format!("lmr_sa_042_{secret}"), TokenError::Id),
            (format!("lmr_sa_0_{secret}"), TokenError::Id),
            (format!("lmr_sa__{secret}"), TokenError::Id),
            (
                format!("lmr_sa_99999999999999999999_{}", &secret[..30]),
                TokenError::Id,
            ),
            ("lmr_sa_42".to_owned(), TokenError::Id),
            (
                format!("lmr_sa_42_{}é", &secret[..36]),
                TokenError::Character,
            ),
            (
                format!("lmr_sa_42_{} ", &secret[..37]),
                TokenError::Character,
            ),
            (
                format!("lmr_sa_42_{}-", &secret[..37]),
                TokenError::Character,
            ),
            (
                format!("lmr_pat_{}_{}", &secret[..18], &secret[..19]),
                TokenError::SecretLength,
            ),
        ];
        for (token, reason) in cases {
            assert_eq!(parse(&token).map(|t| t.kind()), Err(reason), "{token:?}");
        }
    }

    #[test]
    fn a_token_with_a_swapped_id_fails_its_checksum() {
        // The checksum covers the id, so editing the id is caught before any lookup.
        let key = sa_key(7);
        let forged = key.replacen("lmr_sa_7_", "lmr_sa_8_", 1);
        assert_eq!(parse(&forged).map(|t| t.kind()), Err(TokenError::Checksum));
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let secret = issue_personal_access_token();
        assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
        let Ok(pepper) = Pepper::new(&[7u8; 32]) else {
            panic!("a 32-byte pepper is long enough");
        };
        let shown = format!("{pepper:?}");
        assert_eq!(shown, format!("Pepper {{ id: {:?}, .. }}", pepper.id()));
        let keyring = Keyring::new(pepper.clone(), vec![]);
        assert_eq!(keyring.current_id(), pepper.id());
        assert!(!format!("{keyring:?}").contains("7, 7"));
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            #[test]
            fn parsing_never_panics_on_any_input(input in ".{0,120}") {
                let _ = parse(&input);
            }

            #[test]
            fn parsing_never_panics_on_near_tokens(
                prefix in prop::sample::select(vec!["lmr_sa_", "lmr_pat_", "lmr_", "lmr_sa_1_", ""]),
                rest in "[0-9A-Za-z_]{0,70}",
            ) {
                let _ = parse(&format!("{prefix}{rest}"));
            }

            /// CRC32 catches every change of one character, so no single typo in a
            /// real token yields another token that parses.
            #[test]
            fn any_one_character_changed_is_refused(
                id in 1i64..i64::MAX,
                pat in any::<bool>(),
                position in any::<prop::sample::Index>(),
                replacement in prop::sample::select(BASE62.to_vec()),
            ) {
                let token = if pat {
                    issue_personal_access_token()
                } else {
                    issue_service_account_key(ServiceAccountId(id))
                };
                let mut bytes = token.expose().as_bytes().to_vec();
                let at = position.index(bytes.len());
                prop_assume!(bytes[at] != replacement);
                bytes[at] = replacement;
                let changed = String::from_utf8(bytes).unwrap_or_default();
                prop_assert!(parse(&changed).is_err(), "{changed} parsed");
            }

            #[test]
            fn issued_tokens_always_parse_to_their_kind(id in 1i64..i64::MAX) {
                let key = issue_service_account_key(ServiceAccountId(id));
                prop_assert_eq!(
                    parse(key.expose()).map(|t| t.kind()),
                    Ok(TokenKind::ServiceAccountKey(ServiceAccountId(id)))
                );
            }
        }
    }
}

//! Global object ids: unpadded base64 of `N`, the type name's length as three
//! digits, the type name and the numeric id. `TjAwN0FjY291bnQ3MTU` is
//! `N007Account715`. They are the product's public identifiers, shown by the
//! GraphQL API and by the gateway headers alike.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};

/// Longest encoded id accepted, far above any real one.
const MAX_ENCODED_LEN: usize = 256;

pub fn encode(type_name: &str, id: i64) -> String {
    STANDARD_NO_PAD.encode(format!("N{:03}{type_name}{id}", type_name.len()))
}

/// The type name and id inside an encoded id, or `None` for anything that is not
/// exactly what [`encode`] makes (padding and the URL-safe alphabet are accepted).
pub fn decode(encoded: &str) -> Option<(String, i64)> {
    if encoded.is_empty() || encoded.len() > MAX_ENCODED_LEN {
        return None;
    }
    let trimmed = encoded.trim_end_matches('=');
    let bytes = STANDARD_NO_PAD
        .decode(trimmed)
        .or_else(|_| URL_SAFE_NO_PAD.decode(trimmed))
        .ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    let rest = text.strip_prefix('N')?;
    let len: usize = rest.get(..3)?.parse().ok()?;
    let type_name = rest.get(3..3 + len)?;
    if type_name.is_empty() || !type_name.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let digits = rest.get(3 + len..)?;
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    if !canonical {
        return None;
    }
    let id = digits.parse().ok()?;
    Some((type_name.to_owned(), id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_account_id_round_trips() {
        assert_eq!(encode("Account", 715), "TjAwN0FjY291bnQ3MTU");
        assert_eq!(
            decode("TjAwN0FjY291bnQ3MTU"),
            Some(("Account".to_owned(), 715))
        );
    }

    #[test]
    fn every_encoded_id_decodes_to_itself() {
        for (name, id) in [
            ("ServiceAccount", 1),
            ("ServiceAccountKey", i64::MAX),
            ("User", 0),
        ] {
            assert_eq!(decode(&encode(name, id)), Some((name.to_owned(), id)));
        }
    }

    #[test]
    fn anything_else_is_refused() {
        let b64 = |s: &str| STANDARD_NO_PAD.encode(s);
        for bad in [
            String::new(),
            "not base64!".to_owned(),
            b64("X007Account715"),
            b64("N007Account"),
            b64("N007Account-1"),
            b64("N007Account0715"),
            b64("N008Account715"),
            b64("N07Account715"),
            b64("N000715"),
            b64("N007Accoun7715"),
            b64("N007Account99999999999999999999"),
            b64("N007Account7 15"),
            "A".repeat(300),
        ] {
            assert_eq!(decode(&bad), None, "{bad:?}");
        }
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            #[test]
            fn decoding_never_panics_on_any_input(input in ".{0,300}") {
                let _ = decode(&input);
            }

            #[test]
            fn decoding_never_panics_on_any_base64_payload(payload in ".{0,120}") {
                let _ = decode(&STANDARD_NO_PAD.encode(&payload));
            }

            #[test]
            fn every_id_round_trips(type_name in "[A-Za-z]{1,40}", id in 0i64..i64::MAX) {
                prop_assert_eq!(decode(&encode(&type_name, id)), Some((type_name, id)));
            }
        }
    }
}

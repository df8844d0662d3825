//! The published patterns (docs/secret-scanning.md and the rules in
//! docs/scanning/) match every token of their own kind, and no other.

use domain::ids::ServiceAccountId;
use domain::token::{issue_invitation, issue_personal_access_token, issue_service_account_key};
use regex::Regex;

const KINDS: [&str; 3] = [
    "service account key",
    "personal access token",
    "account invitation",
];

fn docs(path: &str) -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/");
    std::fs::read_to_string(format!("{root}{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The expressions of the page's table, in the order of [`KINDS`].
fn documented() -> Vec<String> {
    let page = docs("secret-scanning.md");
    KINDS
        .iter()
        .map(|kind| {
            let row = page
                .lines()
                .find(|l| l.starts_with(&format!("| {kind} |")))
                .unwrap_or_else(|| panic!("no row for {kind}"));
            row.split('`').nth(1).unwrap().to_owned()
        })
        .collect()
}

/// The gitleaks rules' expressions, in their file's order.
fn gitleaks() -> Vec<String> {
    docs("scanning/gitleaks.toml")
        .lines()
        .filter_map(|l| l.strip_prefix("regex = '''"))
        .map(|l| l.trim_end_matches("'''").to_owned())
        .collect()
}

/// The trufflehog detectors' expressions, in their file's order.
fn trufflehog() -> Vec<String> {
    let file = docs("scanning/trufflehog.yaml");
    let lines: Vec<&str> = file.lines().collect();
    lines
        .windows(2)
        .filter(|w| w[0].trim() == "regex:")
        .map(|w| {
            let value = w[1].split_once(": ").unwrap().1;
            value.trim_matches('\'').to_owned()
        })
        .collect()
}

fn samples() -> [Vec<String>; 3] {
    let mut keys: Vec<String> = [1, 42, 999_999, i64::MAX]
        .into_iter()
        .map(|id| {
            issue_service_account_key(ServiceAccountId(id))
                .expose()
                .to_owned()
        })
        .collect();
    keys.extend((0..50).map(|i| {
        issue_service_account_key(ServiceAccountId(i + 1))
            .expose()
            .to_owned()
    }));
    let pats = (0..50)
        .map(|_| issue_personal_access_token().expose().to_owned())
        .collect();
    let invitations = (0..50)
        .map(|_| issue_invitation().expose().to_owned())
        .collect();
    [keys, pats, invitations]
}

fn check(source: &str, expressions: &[String]) {
    assert_eq!(expressions.len(), KINDS.len(), "{source}: {expressions:?}");
    let samples = samples();
    for (kind, expression) in KINDS.iter().zip(expressions) {
        let re = Regex::new(expression).unwrap_or_else(|e| panic!("{source} {kind}: {e}"));
        for (other, tokens) in KINDS.iter().zip(&samples) {
            for token in tokens {
                // Alone, and inside a line of code as a scanner meets it.
                let in_code = format!("API_KEY=\"{token}\" # deploy");
                let found = re.find(&in_code).map(|m| m.as_str());
                if other == kind {
                    assert!(re.is_match(token), "{source}: {kind} misses {token}");
                    assert_eq!(found, Some(token.as_str()), "{source}: {kind} in code");
                } else {
                    assert!(
                        found.is_none(),
                        "{source}: {kind} matches a {other}: {token}"
                    );
                }
            }
        }
        // Near misses: a leading zero in the id, a short secret, a longer run.
        for near in ["lmr_sa_01_", "lmr_pat_", "lmr_inv_"] {
            let short = format!("{near}{}", "A".repeat(37));
            let long = format!("{near}{}", "A".repeat(39));
            assert!(
                !re.is_match(&short) && !re.is_match(&long),
                "{source} {kind}: {near}"
            );
        }
    }
}

#[test]
fn the_documented_expressions_match_their_own_kind_and_no_other() {
    check("docs/secret-scanning.md", &documented());
}

#[test]
fn the_gitleaks_rules_are_the_documented_expressions() {
    assert_eq!(gitleaks(), documented());
    check("docs/scanning/gitleaks.toml", &gitleaks());
}

#[test]
fn the_trufflehog_detectors_are_the_documented_expressions() {
    assert_eq!(trufflehog(), documented());
    check("docs/scanning/trufflehog.yaml", &trufflehog());
}

#[test]
fn the_documented_checksum_is_the_one_tokens_carry() {
    // The page's recipe, in Rust: CRC-32 of all but the last six characters,
    // in six base62 digits, most significant first.
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    for tokens in samples() {
        for token in tokens {
            let (body, given) = token.split_at(token.len() - 6);
            let mut n = u64::from(crc32fast::hash(body.as_bytes()));
            let mut digits = [0u8; 6];
            for d in digits.iter_mut().rev() {
                *d = ALPHABET[(n % 62) as usize];
                n /= 62;
            }
            assert_eq!(given.as_bytes(), digits, "{token}");
        }
    }
}

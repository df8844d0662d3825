//! Parsed user-supplied text: once you hold one of these, it is valid.
//!
//! A name is stored as Unicode's composed form (NFC), so that one text is kept
//! one way, and may not hold characters that show nothing or turn the text
//! around (zero-width spaces and joiners, bidirectional marks and overrides;
//! `migration::is_invisible`). Where names are unique, they are compared by
//! [`name_key`]: ignoring case, compatibility forms (fullwidth letters) and
//! invisible characters, as a reader would.

use unicode_normalization::UnicodeNormalization;

use crate::base::error::DomainError;

/// The key under which a name is unique in its account: two names with one
/// key read as the same name.
pub(crate) fn name_key(name: &str) -> Vec<u8> {
    migration::name_key(name)
}

/// Said after "a ... named X exists already": what "named" means.
pub(crate) const SAME_NAME: &str =
    " (names that differ only in case, width or invisible characters are one name)";

fn has_control(s: &str, allow_newlines: bool) -> bool {
    s.chars()
        .any(|c| c.is_control() && !(allow_newlines && (c == '\n' || c == '\t' || c == '\r')))
}

/// A single-line label of 1 to `max` characters, not blank, in NFC, with no
/// invisible characters.
fn label(field: &str, s: &str, max: usize) -> Result<String, DomainError> {
    let s: String = s.nfc().collect();
    let count = s.chars().count();
    if s.trim().is_empty() {
        return Err(DomainError::invalid(format!("{field} must not be blank")));
    }
    if count > max {
        return Err(DomainError::invalid(format!(
            "{field} must be at most {max} characters (got {count})"
        )));
    }
    if has_control(&s, false) {
        return Err(DomainError::invalid(format!(
            "{field} must not contain control characters"
        )));
    }
    if s.chars().any(migration::is_invisible) {
        return Err(DomainError::invalid(format!(
            "{field} must not contain invisible or direction-changing characters \
             (zero-width spaces and joiners, bidirectional marks and overrides)"
        )));
    }
    Ok(s)
}

macro_rules! label_type {
    ($(#[$doc:meta])* $name:ident, $field:literal, $max:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = $max;

            pub fn parse(s: &str) -> Result<Self, DomainError> {
                label($field, s, $max).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_inner(self) -> String {
                self.0
            }
        }
    };
}

label_type!(
    /// A service account's name: 1 to 255 characters on one line.
    ServiceAccountName, "name", 255
);
label_type!(
    /// A key's or a personal access token's name: 1 to 255 characters on one line.
    KeyName, "name", 255
);
label_type!(
    /// An account's name: 1 to 255 characters on one line.
    AccountName, "name", 255
);

label_type!(
    /// A group's name: 1 to 255 characters on one line, unique in its account.
    GroupName, "name", 255
);
label_type!(
    /// A permission set's name: 1 to 255 characters on one line, unique in
    /// its account.
    PermissionSetName, "name", 255
);

/// A project's name: 1 to 100 ASCII letters, digits and `. _ -`, unique in its
/// account. Services name projects in URLs and headers, so the name needs no
/// escaping in either (GitHub's rule for repository names).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProjectName(String);

impl ProjectName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if s.is_empty() || s.len() > Self::MAX_CHARS || !s.chars().all(ok_char) {
            return Err(DomainError::invalid(
                "project name must be 1 to 100 characters of letters, digits and . _ -",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A permission: `resource:action`, as in `jobs:run`. Each part is 1 to 64
/// characters of lower-case ASCII letters, digits, `_` and `-`, beginning with a
/// letter.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PermissionName(String);

impl PermissionName {
    pub const MAX_PART: usize = 64;

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let part = |p: &str| {
            p.len() <= Self::MAX_PART
                && p.starts_with(|c: char| c.is_ascii_lowercase())
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-'))
        };
        match s.split_once(':') {
            Some((resource, action)) if part(resource) && part(action) => Ok(Self(s.to_owned())),
            _ => Err(DomainError::invalid(format!(
                "permission {:?} must be resource:action, each part 1 to 64 characters of \
                 lower-case letters, digits, _ and -, beginning with a letter (as in jobs:run)",
                s.chars().take(140).collect::<String>()
            ))),
        }
    }

    /// The part before the colon.
    pub fn resource(&self) -> &str {
        self.0.split_once(':').map_or("", |(r, _)| r)
    }

    /// The part after the colon.
    pub fn action(&self) -> &str {
        self.0.split_once(':').map_or("", |(_, a)| a)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A free-text description: up to 2,000 characters, line breaks allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    pub const MAX_CHARS: usize = 2000;

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let count = s.chars().count();
        if count > Self::MAX_CHARS {
            return Err(DomainError::invalid(format!(
                "description must be at most {} characters (got {count})",
                Self::MAX_CHARS
            )));
        }
        if has_control(s, true) {
            return Err(DomainError::invalid(
                "description must not contain control characters",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A username: 1 to 64 characters of ASCII letters, digits and `. _ - @`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@');
        if s.is_empty() || s.len() > 64 || !s.chars().all(ok_char) {
            return Err(DomainError::invalid(
                "username must be 1 to 64 characters of letters, digits and . _ - @",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address, checked for shape only: `local@domain`, no spaces, at most 254 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let shaped = match s.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            }
            None => false,
        };
        if !shaped || s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(DomainError::invalid(
                "email must be an address like name@example.com",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_count_characters_not_bytes() {
        let accented = "é".repeat(255);
        assert!(ServiceAccountName::parse(&accented).is_ok());
        assert!(ServiceAccountName::parse(&"é".repeat(256)).is_err());
    }

    #[test]
    fn blank_and_control_names_are_refused() {
        for bad in ["", "   ", "line\nbreak", "nul\0"] {
            assert!(
                ServiceAccountName::parse(bad).is_err(),
                "{bad:?} was accepted"
            );
        }
    }

    #[test]
    fn descriptions_may_span_lines_but_not_hold_other_controls() {
        assert!(Description::parse("first\nsecond").is_ok());
        assert!(Description::parse("").is_ok());
        assert!(Description::parse("bell\u{7}").is_err());
        assert!(Description::parse(&"x".repeat(2001)).is_err());
    }

    #[test]
    fn permissions_are_resource_and_action_in_lower_case() {
        for good in [
            "jobs:run",
            "docs:read",
            "a:b",
            "ci-2:deploy_prod",
            &format!("{}:{}", "r".repeat(64), "a".repeat(64)),
        ] {
            let p = PermissionName::parse(good).unwrap_or_else(|e| panic!("{good}: {e}"));
            assert_eq!(p.as_str(), good);
        }
        let p = PermissionName::parse("jobs:run").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((p.resource(), p.action()), ("jobs", "run"));
        for bad in [
            "",
            "jobs",
            "jobs:",
            ":run",
            "Jobs:run",
            "jobs:Run",
            "jobs:run:now",
            "1jobs:run",
            "jobs:2run",
            "jobs :run",
            "jobs:r un",
            "jöbs:run",
            "jobs.x:run",
            "_jobs:run",
            &format!("{}:run", "r".repeat(65)),
            &format!("jobs:{}", "a".repeat(65)),
        ] {
            assert!(PermissionName::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn project_names_need_no_escaping() {
        for good in ["web", "Data.Platform", "ci_2-x", &"p".repeat(100)] {
            assert!(ProjectName::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "has space", "a/b", "naïve", "a?b", &"p".repeat(101)] {
            assert!(ProjectName::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn usernames_and_emails_are_shaped() {
        assert!(Username::parse("alice.b-1@corp").is_ok());
        for bad in ["", "has space", "ünicode", &"a".repeat(65)] {
            assert!(Username::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(Email::parse("alice@example.com").is_ok());
        for bad in [
            "alice",
            "@example.com",
            "alice@",
            "a@b@c.d",
            "a b@c.d",
            "a@nodot",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}

#[cfg(test)]
mod key_tests {
    use super::name_key;

    #[test]
    fn names_that_read_the_same_have_one_key() {
        let cafe = name_key("Café");
        for same in [
            "Cafe\u{301}",  // e and a combining acute accent
            "café",         // lower case
            "CAFÉ",         // upper case
            "Ｃａｆé",      // fullwidth letters
            "Ca\u{200B}fé", // a zero-width space inside (an old row may hold one)
            "\u{202E}Café", // a right-to-left override before
        ] {
            assert_eq!(name_key(same), cafe, "{same:?}");
        }
        for other in ["Cafe", "Café ", "Cafés", "Caffé", "Cafè"] {
            assert_ne!(name_key(other), cafe, "{other:?}");
        }
        assert_eq!(name_key("Ⅻ"), name_key("xii"), "compatibility forms fold");
        assert_eq!(name_key("ci").len(), 32);
    }
}

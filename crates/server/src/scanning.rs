//! The keys that sign secret-scanning reports: GitHub's, as GitHub publishes
//! them (`https://api.github.com/meta/public_keys/secret_scanning`), and the
//! organisation's own scanners', in the same document. A report is accepted
//! only with an ECDSA P-256 signature (SHA-256, ASN.1 DER, base64) over its
//! raw body by one of the keys, named by its identifier.
//!
//! Keys come from a file, read again whenever it changes (so an operator
//! replaces it with GitHub's newest document and nothing restarts), or from a
//! setting, fixed for the process's life. A file that no longer reads keeps
//! the keys it last held, and the log says why.
//!
//! GitHub's `secret_scanning_alert` webhook (custom patterns) is signed
//! instead with the webhook's secret: `X-Hub-Signature-256: sha256=<hex of
//! HMAC-SHA256 of the body>`, compared in constant time ([`hub_signed`]). Its
//! alert does not hold the secret it found, so keywarden reads the alert from
//! GitHub's API ([`read_secret`]), under the configured address only, with a
//! token the operator gives.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::DecodePublicKey;
use serde::Deserialize;
use sha2::Sha256;

/// The longest key identifier kept; GitHub's are 64 hexadecimal digits.
const MAX_KEY_IDENTIFIER: usize = 128;
/// More keys than any published document holds.
const MAX_KEYS: usize = 64;

/// One document of public keys, read.
#[derive(Clone, Debug, Default)]
pub struct KeySet {
    keys: Vec<(String, VerifyingKey)>,
}

#[derive(Deserialize)]
struct Document {
    public_keys: Vec<PublishedKey>,
}

#[derive(Deserialize)]
struct PublishedKey {
    key_identifier: String,
    key: String,
    // `is_current` says which key GitHub signs with now; a key that is no
    // longer current still verifies what was signed with it, so it is read
    // and not needed.
}

impl KeySet {
    /// Reads GitHub's document: `{"public_keys": [{"key_identifier", "key",
    /// "is_current"}]}`, each `key` a PEM public key of P-256.
    pub fn parse(text: &str) -> Result<Self, String> {
        let document: Document = serde_json::from_str(text).map_err(|e| {
            format!("not a document of public keys ({{\"public_keys\": [...]}}): {e}")
        })?;
        if document.public_keys.len() > MAX_KEYS {
            return Err(format!("more than {MAX_KEYS} keys"));
        }
        let mut keys = Vec::with_capacity(document.public_keys.len());
        for published in document.public_keys {
            let id = published.key_identifier;
            if id.is_empty() || id.len() > MAX_KEY_IDENTIFIER {
                return Err(format!(
                    "a key_identifier must have 1 to {MAX_KEY_IDENTIFIER} characters"
                ));
            }
            let key = VerifyingKey::from_public_key_pem(published.key.trim())
                .map_err(|e| format!("key {id}: not a PEM public key of P-256: {e}"))?;
            keys.push((id, key));
        }
        Ok(Self { keys })
    }

    fn key(&self, identifier: &str) -> Option<&VerifyingKey> {
        self.keys
            .iter()
            .find(|(id, _)| id == identifier)
            .map(|(_, key)| key)
    }

    /// Whether `signature` (base64 of DER) is `identifier`'s over `body`.
    pub fn check(&self, identifier: &str, signature: &str, body: &[u8]) -> Result<(), Refused> {
        let key = self.key(identifier).ok_or(Refused::UnknownKey)?;
        let der = STANDARD
            .decode(signature.trim())
            .map_err(|_| Refused::Malformed)?;
        let signature = Signature::from_der(&der).map_err(|_| Refused::Malformed)?;
        key.verify(body, &signature).map_err(|_| Refused::Wrong)
    }
}

/// Why a report's signature is refused.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Refused {
    /// No identifier or no signature header.
    Missing,
    /// The identifier names no key of the set.
    UnknownKey,
    /// The signature is not base64 of a DER ECDSA signature.
    Malformed,
    /// The signature does not verify.
    Wrong,
}

impl Refused {
    pub fn message(self) -> &'static str {
        match self {
            Self::Missing => {
                "The report is not signed: send Github-Public-Key-Identifier and Github-Public-Key-Signature"
            }
            Self::UnknownKey => "The report is signed with a key this server does not know",
            Self::Malformed => "The report's signature is not base64 of a DER ECDSA signature",
            Self::Wrong => "The report's signature does not match its body",
        }
    }
}

/// The signing keys of each route of reports.
#[derive(Clone, Debug)]
pub struct ScanningKeys {
    /// GitHub's, for the partner program.
    pub github: KeySource,
    /// The organisation's own scanners'.
    pub scanners: KeySource,
}

impl Default for ScanningKeys {
    fn default() -> Self {
        Self {
            github: KeySource::None,
            scanners: KeySource::None,
        }
    }
}

/// Where a set of keys comes from.
#[derive(Clone, Debug)]
pub enum KeySource {
    /// None configured: reports of this kind are not accepted.
    None,
    /// Given in a setting, for the process's life.
    Fixed(Arc<KeySet>),
    /// A file, read again when it changes.
    File(Arc<WatchedFile>),
}

#[derive(Debug)]
pub struct WatchedFile {
    path: PathBuf,
    read: Mutex<Read>,
}

#[derive(Debug)]
struct Read {
    /// When the file was last changed, and its length, as last read.
    stamp: Option<(SystemTime, u64)>,
    keys: Arc<KeySet>,
}

impl KeySource {
    /// A source from the settings: the document itself, or a file holding it
    /// (not both). A file or document that does not read is an error here,
    /// at start.
    pub fn configure(document: Option<&str>, file: Option<PathBuf>) -> Result<Self, String> {
        match (document, file) {
            (Some(_), Some(_)) => Err("give the keys or their file, not both".to_owned()),
            (Some(text), None) => Ok(Self::Fixed(Arc::new(KeySet::parse(text)?))),
            (None, Some(path)) => {
                let watched = WatchedFile {
                    path,
                    read: Mutex::new(Read {
                        stamp: None,
                        keys: Arc::new(KeySet::default()),
                    }),
                };
                watched.reread(true)?;
                Ok(Self::File(Arc::new(watched)))
            }
            (None, None) => Ok(Self::None),
        }
    }

    /// The keys now, or `None` when none are configured.
    pub fn keys(&self) -> Option<Arc<KeySet>> {
        match self {
            Self::None => None,
            Self::Fixed(keys) => Some(keys.clone()),
            Self::File(watched) => {
                if let Err(e) = watched.reread(false) {
                    tracing::warn!(
                        file = %watched.path.display(),
                        error = %e,
                        "the file of secret-scanning keys does not read: the keys it held before stay"
                    );
                }
                watched.read.lock().ok().map(|read| read.keys.clone())
            }
        }
    }
}

impl WatchedFile {
    /// Reads the file again if it changed since it was last read (or
    /// always, with `force`).
    fn reread(&self, force: bool) -> Result<(), String> {
        let shown = self.path.display();
        let meta = std::fs::metadata(&self.path).map_err(|e| format!("{shown}: {e}"))?;
        let stamp = Some((
            meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            meta.len(),
        ));
        let mut read = self.read.lock().map_err(|_| "poisoned".to_owned())?;
        if !force && read.stamp == stamp {
            return Ok(());
        }
        // Marked read even if it fails, so that a broken file is complained
        // of once a change, not once a report.
        read.stamp = stamp;
        let text = std::fs::read_to_string(&self.path).map_err(|e| format!("{shown}: {e}"))?;
        let keys = KeySet::parse(&text).map_err(|e| format!("{shown}: {e}"))?;
        tracing::info!(file = %shown, keys = keys.keys.len(), "read the secret-scanning keys");
        read.keys = Arc::new(keys);
        Ok(())
    }
}

/// How long reading one alert may take.
const ALERT_TIMEOUT: Duration = Duration::from_secs(10);

/// The webhook's settings.
#[derive(Clone)]
pub struct CustomPatterns {
    /// The webhook's secret; `None`: the route takes no deliveries.
    pub secret: Option<Arc<[u8]>>,
    /// Where alerts are read, without a trailing `/`.
    api: String,
    /// The token alerts are read with.
    api_token: Option<Arc<str>>,
    http: reqwest::Client,
}

impl std::fmt::Debug for CustomPatterns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomPatterns")
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("api", &self.api)
            .field("api_token", &self.api_token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl Default for CustomPatterns {
    fn default() -> Self {
        Self::new(None, "https://api.github.com", None)
    }
}

impl CustomPatterns {
    pub fn new(secret: Option<&str>, api: &str, api_token: Option<&str>) -> Self {
        Self {
            secret: secret.map(|s| Arc::from(s.as_bytes())),
            api: api.trim_end_matches('/').to_owned(),
            api_token: api_token.map(Arc::from),
            http: reqwest::Client::builder()
                .timeout(ALERT_TIMEOUT)
                .user_agent(concat!("keywarden/", env!("CARGO_PKG_VERSION")))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
        }
    }

    /// The settings from their files: each holds one line, the secret or the
    /// token.
    pub fn from_files(
        secret: Option<&Path>,
        api: &str,
        api_token: Option<&Path>,
    ) -> Result<Self, String> {
        let read = |path: &Path| {
            std::fs::read_to_string(path)
                .map(|s| s.trim_end_matches(['\r', '\n']).to_owned())
                .map_err(|e| format!("{}: {e}", path.display()))
                .and_then(|s| {
                    if s.is_empty() {
                        Err(format!("{} is empty", path.display()))
                    } else {
                        Ok(s)
                    }
                })
        };
        let secret = secret.map(read).transpose()?;
        let token = api_token.map(read).transpose()?;
        if !(api.starts_with("https://") || api.starts_with("http://")) {
            return Err(format!(
                "the GitHub API address {api:?} is not an http(s) URL"
            ));
        }
        Ok(Self::new(secret.as_deref(), api, token.as_deref()))
    }
}

/// Whether `header` (`sha256=<hex>`) is the HMAC-SHA256 of `body` under
/// `secret`, compared in constant time.
pub fn hub_signed(secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(hex) = header.and_then(|h| h.strip_prefix("sha256=")) else {
        return false;
    };
    let Some(given) = unhex(hex) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

fn unhex(hex: &str) -> Option<Vec<u8>> {
    if hex.len() != 64 {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

#[derive(Deserialize)]
pub(crate) struct Delivery {
    #[serde(default)]
    pub action: String,
    pub alert: Option<Alert>,
}

#[derive(Deserialize)]
pub(crate) struct Alert {
    /// The alert in GitHub's API, which holds its secret.
    pub url: Option<String>,
    /// The alert on GitHub, for people.
    pub html_url: Option<String>,
    /// Present only if GitHub ever sends it; else read from `url`.
    pub secret: Option<String>,
}

#[derive(Deserialize)]
struct ReadAlert {
    secret: Option<String>,
}

/// Reads an alert's secret from GitHub's API: only from under the configured
/// address, only with the configured token.
pub(crate) async fn read_secret(
    config: &CustomPatterns,
    url: Option<&str>,
) -> Result<String, String> {
    let url = url.ok_or("the alert has no url")?;
    let under = format!("{}/", config.api);
    if !url.starts_with(&under) {
        return Err(format!("the alert's url is not under {}", config.api));
    }
    let token = config
        .api_token
        .as_deref()
        .ok_or("no GitHub token is configured to read alerts with")?;
    let response = config
        .http
        .get(url)
        .bearer_auth(token)
        .header("accept", "application/vnd.github+json")
        .send()
        .await
        .map_err(|e| format!("reading the alert: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("GitHub answered {}", response.status()));
    }
    let alert: ReadAlert = response
        .json()
        .await
        .map_err(|e| format!("the alert does not read: {e}"))?;
    alert
        .secret
        .ok_or_else(|| "the alert holds no secret".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::SigningKey;
    use p256::ecdsa::signature::Signer;
    use p256::pkcs8::{EncodePublicKey, LineEnding};

    fn signing_key() -> SigningKey {
        // A random scalar is a valid key but for odds of about 2^-128.
        SigningKey::from_slice(&rand::random::<[u8; 32]>()).unwrap()
    }

    fn document(keys: &[(&str, &SigningKey)]) -> String {
        let public_keys: Vec<serde_json::Value> = keys
            .iter()
            .map(|(id, key)| {
                serde_json::json!({
                    "key_identifier": id,
                    "key": key.verifying_key().to_public_key_pem(LineEnding::LF).unwrap(),
                    "is_current": true,
                })
            })
            .collect();
        serde_json::json!({ "public_keys": public_keys }).to_string()
    }

    fn sign(key: &SigningKey, body: &[u8]) -> String {
        let signature: Signature = key.sign(body);
        STANDARD.encode(signature.to_der().as_bytes())
    }

    #[test]
    fn a_body_signed_by_a_key_of_the_set_is_accepted_and_any_change_refused() {
        let (one, two) = (signing_key(), signing_key());
        let set = KeySet::parse(&document(&[("one", &one), ("two", &two)])).unwrap();
        let body = br#"[{"token":"t","type":"x","url":"u","source":"content"}]"#;
        let signature = sign(&two, body);
        assert_eq!(set.check("two", &signature, body), Ok(()));
        // Another key's name, a changed byte, another key's signature.
        assert_eq!(set.check("one", &signature, body), Err(Refused::Wrong));
        let mut tampered = body.to_vec();
        tampered[3] ^= 1;
        assert_eq!(set.check("two", &signature, &tampered), Err(Refused::Wrong));
        assert_eq!(
            set.check("two", &sign(&one, body), body),
            Err(Refused::Wrong)
        );
        assert_eq!(
            set.check("three", &signature, body),
            Err(Refused::UnknownKey)
        );
        assert_eq!(
            set.check("two", "not base64!", body),
            Err(Refused::Malformed)
        );
        assert_eq!(
            set.check("two", &STANDARD.encode(b"not der"), body),
            Err(Refused::Malformed)
        );
    }

    #[test]
    fn a_document_that_is_not_one_of_keys_is_refused_saying_why() {
        for (text, says) in [
            ("[]", "not a document"),
            (
                r#"{"public_keys": [{"key_identifier": "a", "key": "nope", "is_current": true}]}"#,
                "key a",
            ),
            (
                r#"{"public_keys": [{"key_identifier": "", "key": "x", "is_current": true}]}"#,
                "1 to 128",
            ),
        ] {
            let e = KeySet::parse(text).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
        assert!(
            KeySet::parse(r#"{"public_keys": []}"#)
                .unwrap()
                .keys
                .is_empty()
        );
    }

    #[test]
    fn a_document_holds_at_most_64_keys_with_identifiers_of_at_most_128_characters() {
        let key = signing_key();
        let named = |n: usize, id_len: usize| {
            let ids: Vec<String> = (0..n).map(|i| format!("{i:0>id_len$}")).collect();
            let keys: Vec<(&str, &SigningKey)> = ids.iter().map(|id| (id.as_str(), &key)).collect();
            document(&keys)
        };
        assert_eq!(KeySet::parse(&named(64, 3)).unwrap().keys.len(), 64);
        let e = KeySet::parse(&named(65, 3)).unwrap_err();
        assert!(e.contains("more than 64 keys"), "{e}");
        let longest = KeySet::parse(&named(1, 128)).unwrap();
        let body = b"[]";
        assert_eq!(
            longest.check(&"0".repeat(128), &sign(&key, body), body),
            Ok(())
        );
        let e = KeySet::parse(&named(1, 129)).unwrap_err();
        assert!(e.contains("1 to 128"), "{e}");
    }

    #[test]
    fn each_refusal_says_what_is_wrong_in_words_of_its_own() {
        let all = [
            Refused::Missing,
            Refused::UnknownKey,
            Refused::Malformed,
            Refused::Wrong,
        ];
        let messages: std::collections::HashSet<&str> = all.iter().map(|r| r.message()).collect();
        assert_eq!(messages.len(), all.len(), "{messages:?}");
        assert!(
            Refused::Missing
                .message()
                .contains("Github-Public-Key-Signature")
        );
        assert!(Refused::UnknownKey.message().contains("key"));
        assert!(Refused::Malformed.message().contains("base64"));
        assert!(Refused::Wrong.message().contains("does not match"));
    }

    #[test]
    fn a_watched_file_whose_time_and_length_are_unchanged_is_not_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        let (first, second) = (signing_key(), signing_key());
        std::fs::write(&path, document(&[("aaaa", &first)])).unwrap();
        let source = KeySource::configure(None, Some(path.clone())).unwrap();
        let stamp = std::fs::metadata(&path).unwrap().modified().unwrap();
        // The same length and, set back, the same time: a report does not
        // read the file again, so it still holds the first key.
        std::fs::write(&path, document(&[("bbbb", &second)])).unwrap();
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(stamp)
            .unwrap();
        let body = b"[]";
        let keys = source.keys().unwrap();
        assert_eq!(keys.check("aaaa", &sign(&first, body), body), Ok(()));
        assert_eq!(
            keys.check("bbbb", &sign(&second, body), body),
            Err(Refused::UnknownKey)
        );
    }

    #[test]
    fn a_watched_file_is_read_again_when_it_changes_and_keeps_its_keys_when_it_breaks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        let (old, new) = (signing_key(), signing_key());
        std::fs::write(&path, document(&[("old", &old)])).unwrap();
        let source = KeySource::configure(None, Some(path.clone())).unwrap();
        let body = b"[]";
        assert_eq!(
            source.keys().unwrap().check("old", &sign(&old, body), body),
            Ok(())
        );
        // A rotated set: a longer document, so the change shows even within
        // the file system's clock's resolution.
        std::fs::write(&path, document(&[("new", &new), ("newer", &new)])).unwrap();
        let keys = source.keys().unwrap();
        assert_eq!(keys.check("new", &sign(&new, body), body), Ok(()));
        assert_eq!(
            keys.check("old", &sign(&old, body), body),
            Err(Refused::UnknownKey)
        );
        // A broken file keeps what it held.
        std::fs::write(&path, "{ not json").unwrap();
        assert_eq!(
            source.keys().unwrap().check("new", &sign(&new, body), body),
            Ok(())
        );
    }

    #[test]
    fn keys_are_given_one_way_and_a_bad_file_stops_the_start() {
        assert!(matches!(
            KeySource::configure(None, None),
            Ok(KeySource::None)
        ));
        assert!(KeySource::configure(Some("{}"), Some("x".into())).is_err());
        assert!(KeySource::configure(Some("{}"), None).is_err());
        assert!(KeySource::configure(None, Some("/nonexistent/keys.json".into())).is_err());
    }

    #[test]
    fn githubs_example_delivery_signature_verifies_and_nothing_else_does() {
        // GitHub's documented example of X-Hub-Signature-256.
        let secret = b"It's a Secret to Everybody";
        let good = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert!(hub_signed(secret, b"Hello, World!", Some(good)));
        assert!(!hub_signed(secret, b"Hello, World?", Some(good)));
        assert!(!hub_signed(b"another secret", b"Hello, World!", Some(good)));
        assert!(!hub_signed(secret, b"Hello, World!", None));
        assert!(
            !hub_signed(secret, b"Hello, World!", Some(&good[7..])),
            "no sha256="
        );
        assert!(!hub_signed(secret, b"Hello, World!", Some("sha256=757107")));
        let upper = good.replace("ea0eb", "EA0EB");
        assert!(
            hub_signed(secret, b"Hello, World!", Some(&upper)),
            "hex in either case"
        );
        assert!(!hub_signed(
            secret,
            b"Hello, World!",
            Some(&format!("{good}00"))
        ));
    }

    #[test]
    fn settings_that_do_not_read_are_refused_saying_why() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        let e =
            CustomPatterns::from_files(Some(&empty), "https://api.github.com", None).unwrap_err();
        assert!(e.contains("empty"), "{e}");
        let e = CustomPatterns::from_files(None, "ftp://x", None).unwrap_err();
        assert!(e.contains("not an http(s) URL"), "{e}");
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "s3cret\n").unwrap();
        let read =
            CustomPatterns::from_files(Some(&secret), "https://ghe.example.com/api/v3/", None)
                .unwrap();
        assert_eq!(read.secret.as_deref(), Some(&b"s3cret"[..]));
        assert_eq!(read.api, "https://ghe.example.com/api/v3");
        let shown = format!("{read:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(
            shown.contains("<redacted>") && shown.contains("https://ghe.example.com/api/v3"),
            "{shown}"
        );
    }

    /// A stand-in for GitHub's API: alert 7 holds a secret, alert 8 none,
    /// any other is not found; every request is counted, with its token.
    async fn github_api() -> (String, Arc<Mutex<Vec<Option<String>>>>) {
        use axum::extract::{Path as UrlPath, State};
        use axum::http::{HeaderMap, StatusCode};
        let seen: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
        let app = axum::Router::new()
            .route(
                "/api/alerts/{n}",
                axum::routing::get(
                    |State(seen): State<Arc<Mutex<Vec<Option<String>>>>>,
                     UrlPath(n): UrlPath<u32>,
                     headers: HeaderMap| async move {
                        let token = headers
                            .get("authorization")
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned);
                        seen.lock().unwrap().push(token);
                        match n {
                            7 => Ok(axum::Json(serde_json::json!({"secret": "the-secret"}))),
                            8 => Ok(axum::Json(serde_json::json!({"state": "open"}))),
                            _ => Err(StatusCode::NOT_FOUND),
                        }
                    },
                ),
            )
            .with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{address}/api"), seen)
    }

    #[tokio::test]
    async fn an_alerts_secret_is_read_under_the_configured_address_with_its_token_only() {
        let (api, seen) = github_api().await;
        let config = CustomPatterns::new(Some("s"), &api, Some("gh-token"));
        let read = |url: String| {
            let config = config.clone();
            async move { read_secret(&config, Some(&url)).await }
        };
        assert_eq!(
            read(format!("{api}/alerts/7")).await.as_deref(),
            Ok("the-secret")
        );
        assert_eq!(
            seen.lock().unwrap().as_slice(),
            [Some("Bearer gh-token".to_owned())]
        );

        let e = read(format!("{api}/alerts/8")).await.unwrap_err();
        assert!(e.contains("holds no secret"), "{e}");
        let e = read(format!("{api}/alerts/9")).await.unwrap_err();
        assert!(e.contains("404"), "{e}");
        assert_eq!(seen.lock().unwrap().len(), 3);

        // Not under the address (a longer host, a sibling path), no url, no
        // token: refused before any request.
        for url in [
            format!("{api}x/alerts/7"),
            api.replace("127.0.0.1", "127.0.0.1.example"),
            "https://attacker.example/api/alerts/7".to_owned(),
        ] {
            let e = read(url.clone()).await.unwrap_err();
            assert!(e.contains("not under"), "{url}: {e}");
        }
        assert!(
            read_secret(&config, None)
                .await
                .unwrap_err()
                .contains("no url")
        );
        let tokenless = CustomPatterns::new(Some("s"), &api, None);
        let e = read_secret(&tokenless, Some(&format!("{api}/alerts/7")))
            .await
            .unwrap_err();
        assert!(e.contains("no GitHub token"), "{e}");
        assert_eq!(seen.lock().unwrap().len(), 3);
    }
}

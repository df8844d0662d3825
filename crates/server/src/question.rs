//! What a gateway asks of `/v1/verify`, from headers or from the query string
//! (for gateways that can only set the URL): the account the credential must
//! act in, and optionally a permission on a project, and whether to return the
//! permissions held there. A header wins over its query parameter.

use axum::http::HeaderName;
use axum::http::request::Parts;
use domain::PermissionName;
use domain::ids::AccountId;

pub const ACCOUNT_HEADER: HeaderName = HeaderName::from_static("x-keywarden-require-account");
pub const PERMISSION_HEADER: HeaderName = HeaderName::from_static("x-keywarden-permission");
pub const PROJECT_HEADER: HeaderName = HeaderName::from_static("x-keywarden-project");
pub const INCLUDE_HEADER: HeaderName = HeaderName::from_static("x-keywarden-include");
pub const ON_THROTTLE_HEADER: HeaderName = HeaderName::from_static("x-keywarden-on-throttle");

/// What `include` may name.
const INCLUDE_PERMISSIONS: &str = "permissions";

/// The question's query parameters. (Read by hand: a gateway asks this on
/// every request, and a generic deserializer costs several times as much.)
#[derive(Default)]
struct Params {
    account: Option<String>,
    permission: Option<String>,
    project: Option<String>,
    include: Option<String>,
    on_throttle: Option<String>,
}

impl Params {
    /// The parameters of `query`; of one given twice, the last. Others are
    /// left alone (a gateway may pass its own through).
    fn of(query: &str) -> Self {
        let mut params = Params::default();
        for pair in query.split('&') {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let slot = match name {
                "account" => &mut params.account,
                "permission" => &mut params.permission,
                "project" => &mut params.project,
                "include" => &mut params.include,
                "on_throttle" => &mut params.on_throttle,
                _ => continue,
            };
            *slot = Some(if value.contains(['%', '+']) {
                form_urlencoded::parse(value.as_bytes())
                    .next()
                    .map(|(decoded, _)| decoded.into_owned())
                    .unwrap_or_default()
            } else {
                value.to_owned()
            });
        }
        params
    }
}

/// A gateway's question.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Question {
    pub account: Option<AccountId>,
    pub permission: Option<PermissionName>,
    /// A project id or name.
    pub project: Option<String>,
    /// Return the permissions held on the project.
    pub include_permissions: bool,
    /// How to answer a throttled client, when the gateway cannot pass 429 on.
    pub on_throttle: OnThrottle,
}

/// The status a throttled client's request is answered with. nginx's
/// `auth_request` understands only 2xx, 401 and 403 and turns anything else
/// into a 500 for its client, so a gateway may ask for 401 or 403 instead of
/// 429; the answer then says `X-Keywarden-Reason: throttled`, with
/// `Retry-After` as ever.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnThrottle {
    #[default]
    TooManyRequests,
    Unauthorized,
    Forbidden,
}

impl OnThrottle {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "429" => Some(Self::TooManyRequests),
            "401" => Some(Self::Unauthorized),
            "403" => Some(Self::Forbidden),
            _ => None,
        }
    }

    pub fn status(self) -> axum::http::StatusCode {
        use axum::http::StatusCode;
        match self {
            Self::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
        }
    }
}

impl Question {
    /// Whether anything beyond "is the credential good" is asked.
    pub fn asks_permissions(&self) -> bool {
        self.permission.is_some() || self.project.is_some() || self.include_permissions
    }
}

/// The longest project id or name a question may give.
pub const MAX_PROJECT_CHARS: usize = 255;

/// The question in `parts`, or why it cannot be read (answered 400). The
/// reason is one of a few fixed texts: nothing the caller sent is repeated.
pub fn read(parts: &Parts) -> Result<Question, &'static str> {
    let params = parts.uri.query().map(Params::of).unwrap_or_default();
    let pick =
        |header: HeaderName, param: Option<String>| -> Result<Option<String>, &'static str> {
            match parts.headers.get(&header) {
                Some(value) => value
                    .to_str()
                    .map(|v| Some(v.trim().to_owned()))
                    .map_err(|_| "a question header must be visible ASCII"),
                None => Ok(param),
            }
        };
    let account = match pick(ACCOUNT_HEADER, params.account)? {
        None => None,
        Some(id) => match domain::object_id::decode(&id) {
            Some((kind, n)) if kind == "Account" => Some(AccountId(n)),
            _ => {
                return Err("X-Keywarden-Require-Account (or ?account=) is not an account id");
            }
        },
    };
    let permission = pick(PERMISSION_HEADER, params.permission)?
        .map(|p| {
            PermissionName::parse(&p).map_err(|_| {
                "X-Keywarden-Permission (or ?permission=) is not a permission: resource:action, \
                 each part lower-case letters, digits, _ and -, as in jobs:run"
            })
        })
        .transpose()?;
    let project = match pick(PROJECT_HEADER, params.project)? {
        Some(p) if p.is_empty() => {
            return Err("X-Keywarden-Project (or ?project=) is empty");
        }
        Some(p) if p.chars().nth(MAX_PROJECT_CHARS).is_some() => {
            return Err("X-Keywarden-Project (or ?project=) is longer than 255 characters");
        }
        other => other,
    };
    let include_permissions = match pick(INCLUDE_HEADER, params.include)?.as_deref() {
        None => false,
        Some(INCLUDE_PERMISSIONS) => true,
        Some(_) => {
            return Err("X-Keywarden-Include (or ?include=) may only be \"permissions\"");
        }
    };
    let on_throttle = match pick(ON_THROTTLE_HEADER, params.on_throttle)? {
        None => OnThrottle::default(),
        Some(status) => OnThrottle::parse(&status)
            .ok_or("X-Keywarden-On-Throttle (or ?on_throttle=) may only be 401, 403 or 429")?,
    };
    if project.is_some() && permission.is_none() && !include_permissions {
        return Err(
            "a project is named but nothing is asked of it: add a permission, or include=permissions",
        );
    }
    Ok(Question {
        account,
        permission,
        project,
        include_permissions,
        on_throttle,
    })
}

#[cfg(test)]
mod tests {
    use axum::http::Request;

    use super::*;

    fn parts(uri: &str, headers: &[(HeaderName, &str)]) -> Parts {
        let mut request = Request::builder().uri(uri);
        for (k, v) in headers {
            request = request.header(k, *v);
        }
        request.body(()).unwrap_or_default().into_parts().0
    }

    #[test]
    fn a_question_comes_from_the_query_or_from_headers_which_win() {
        let account = domain::object_id::encode("Account", 7);
        let q = read(&parts(
            &format!(
                "/v1/verify?account={account}&permission=jobs:run&project=web&include=permissions"
            ),
            &[],
        ));
        assert_eq!(
            q,
            Ok(Question {
                account: Some(AccountId(7)),
                permission: PermissionName::parse("jobs:run").ok(),
                project: Some("web".to_owned()),
                include_permissions: true,
                on_throttle: OnThrottle::TooManyRequests,
            })
        );
        let q = read(&parts(
            "/v1/verify?permission=jobs:run&project=web",
            &[(PERMISSION_HEADER, "docs:read"), (PROJECT_HEADER, " api ")],
        ))
        .unwrap_or_default();
        assert_eq!(q.permission, PermissionName::parse("docs:read").ok());
        assert_eq!(q.project.as_deref(), Some("api"));
        assert!(!q.include_permissions);
        assert!(q.asks_permissions());
        // Percent-encoding is decoded, and parameters of others left alone.
        let q = read(&parts(
            "/v1/verify?project=a%2Eb&permission=jobs%3Arun&other=1",
            &[],
        ))
        .unwrap_or_default();
        assert_eq!(q.project.as_deref(), Some("a.b"));
        assert_eq!(q.permission, PermissionName::parse("jobs:run").ok());
        let plain = read(&parts("/v1/verify", &[])).unwrap_or_default();
        assert_eq!(plain, Question::default());
        assert!(!plain.asks_permissions());
    }

    #[test]
    fn a_gateway_chooses_the_status_of_a_throttled_answer() {
        let status = |uri: &str, headers: &[(HeaderName, &str)]| {
            read(&parts(uri, headers)).map(|q| q.on_throttle.status().as_u16())
        };
        assert_eq!(status("/v1/verify", &[]), Ok(429));
        assert_eq!(status("/v1/verify?on_throttle=401", &[]), Ok(401));
        assert_eq!(status("/v1/verify?on_throttle=403", &[]), Ok(403));
        assert_eq!(status("/v1/verify?on_throttle=429", &[]), Ok(429));
        assert_eq!(
            status("/v1/verify?on_throttle=429", &[(ON_THROTTLE_HEADER, "401")]),
            Ok(401)
        );
        for bad in ["500", "200", "", "401 "] {
            let uri = format!("/v1/verify?on_throttle={}", bad.replace(' ', "+"));
            assert_eq!(
                status(&uri, &[]),
                Err("X-Keywarden-On-Throttle (or ?on_throttle=) may only be 401, 403 or 429"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn parameters_are_decoded_only_when_encoded_and_the_last_one_counts() {
        let p =
            Params::of("project=a+b%26c&permission=jobs%3Arun&include&other=1&account=x&account=y");
        assert_eq!(p.project.as_deref(), Some("a b&c"));
        assert_eq!(p.permission.as_deref(), Some("jobs:run"));
        assert_eq!(p.include.as_deref(), Some(""));
        assert_eq!(p.account.as_deref(), Some("y"));
        let p = Params::of("project=web&permission=jobs:run");
        assert_eq!(
            (p.project.as_deref(), p.permission.as_deref()),
            (Some("web"), Some("jobs:run"))
        );
        assert_eq!(p.include, None);
        // An empty include is a question that cannot be asked.
        assert!(read(&parts("/v1/verify?permission=a:b&include", &[])).is_err());
    }

    #[test]
    fn a_question_that_cannot_be_asked_is_refused_with_why() {
        for (uri, headers, says) in [
            ("/v1/verify?permission=Jobs:Run", &[][..], "resource:action"),
            ("/v1/verify?account=nope", &[], "not an account id"),
            ("/v1/verify?project=web", &[], "nothing is asked"),
            ("/v1/verify?project=&permission=a:b", &[], "is empty"),
            ("/v1/verify?include=everything", &[], "may only be"),
            (
                "/v1/verify",
                &[(PERMISSION_HEADER, "jobs")],
                "resource:action",
            ),
        ] {
            match read(&parts(uri, headers)) {
                Err(message) => assert!(message.contains(says), "{uri}: {message}"),
                Ok(q) => panic!("{uri}: {q:?}"),
            }
        }
        let long = format!("/v1/verify?permission=a:b&project={}", "x".repeat(256));
        match read(&parts(&long, &[])) {
            Err(message) => assert!(message.contains("longer than 255"), "{message}"),
            Ok(q) => panic!("{q:?}"),
        }
        let fits = format!("/v1/verify?permission=a:b&project={}", "x".repeat(255));
        assert!(read(&parts(&fits, &[])).is_ok());
        // What was sent is not repeated back.
        let sent = "/v1/verify?permission=%3Cscript%3Ealert(1)%3C/script%3E";
        match read(&parts(sent, &[])) {
            Err(message) => assert!(!message.contains("script"), "{message}"),
            Ok(q) => panic!("{q:?}"),
        }
        // Naming a project only to learn what is held there is a question.
        assert!(read(&parts("/v1/verify?project=web&include=permissions", &[])).is_ok());
    }
}

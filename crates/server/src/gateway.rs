//! The gateway's check, `/v1/verify`: whether a request's credential is
//! good and, when asked, whether it holds a permission; the answer in status
//! and headers for nginx's `auth_request` and Envoy's `ext_authz`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::{Keywarden, Principal};
use graphql::error::{INTERNAL_MESSAGE, UNAUTHENTICATED_MESSAGE};

use crate::auth::{client_of, presented};
use crate::observe::Caller;
use crate::request::{
    ADDRESS_MESSAGE, AMBIGUOUS_MESSAGE, REASON_HEADER, Refusal, caller_of, identify, requested,
    with_refusal_headers,
};
use crate::state::AppState;

/// For gateways (nginx `auth_request`, Traefik ForwardAuth, Envoy): 200 with the
/// principal in headers for a good credential, 401 otherwise; when the gateway
/// names an account, 403 for a good credential that does not act in it; when
/// it asks for a permission on a project, 403 with `X-Keywarden-Reason` for a
/// good credential that does not hold it. (The answers are listed in
/// `docs/verify.md`.)
pub(crate) async fn verify(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let mut response = verify_answer(&state, request).await;
    // The answers are short plain texts: never to be read as anything else.
    response.headers_mut().insert(
        axum::http::header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

pub(crate) async fn verify_answer(state: &AppState, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let client = requested(&parts).client;
    let question = match crate::question::read(&parts) {
        Ok(question) => question,
        Err(message) => {
            let mut refused = (StatusCode::BAD_REQUEST, message).into_response();
            refused
                .headers_mut()
                .insert(REASON_HEADER, HeaderValue::from_static("bad-question"));
            return refused;
        }
    };
    let refusal = match identify(
        state,
        client_of(&parts.headers, client),
        presented(&parts.headers),
    )
    .await
    {
        Ok(Some(principal)) => {
            let caller = caller_of(&principal);
            let mut response = if question.asks_permissions() {
                answer_question(&state.kw, &principal, &caller, &question).await
            } else {
                match question.account {
                    None => verified(&principal, &caller),
                    Some(account) => match principal.role_in(account) {
                        Some(role) => principal_headers(&caller, Some((account, role))),
                        None => not_in_account(),
                    },
                }
            };
            response.extensions_mut().insert(caller);
            return response;
        }
        Ok(None) => Refusal::Unauthenticated,
        Err(refusal) => refusal,
    };
    let response = match &refusal {
        Refusal::Ambiguous => (StatusCode::BAD_REQUEST, AMBIGUOUS_MESSAGE).into_response(),
        Refusal::Unauthenticated => {
            (StatusCode::UNAUTHORIZED, UNAUTHENTICATED_MESSAGE).into_response()
        }
        Refusal::RateLimited(_) => {
            let mut throttled = (
                question.on_throttle.status(),
                "Too many refused credentials from this address: try again later",
            )
                .into_response();
            throttled
                .headers_mut()
                .insert(REASON_HEADER, HeaderValue::from_static("throttled"));
            throttled
        }
        Refusal::Address => (StatusCode::FORBIDDEN, ADDRESS_MESSAGE).into_response(),
        Refusal::Internal => (StatusCode::INTERNAL_SERVER_ERROR, INTERNAL_MESSAGE).into_response(),
    };
    with_refusal_headers(response, &refusal)
}

/// 403 for a good credential refused, saying why in `X-Keywarden-Reason`.
pub(crate) fn forbidden(why: domain::Why, message: &'static str) -> Response {
    let mut response = (StatusCode::FORBIDDEN, message).into_response();
    response
        .headers_mut()
        .insert(REASON_HEADER, HeaderValue::from_static(why.code()));
    response
}

pub(crate) fn not_in_account() -> Response {
    forbidden(
        domain::Why::NotInAccount,
        "The credential does not act in the required account",
    )
}

/// The answer to a question of permission for a good credential. The account
/// is the one named, or the one the credential acts in.
pub(crate) async fn answer_question(
    kw: &Keywarden,
    principal: &Principal,
    caller: &Caller,
    question: &crate::question::Question,
) -> Response {
    let Some(account) = question.account.or_else(|| acting(principal).map(|a| a.0)) else {
        return forbidden(
            domain::Why::NotInAccount,
            "The user belongs to several accounts, or none: name the account",
        );
    };
    let Some(role) = principal.role_in(account) else {
        return not_in_account();
    };
    let decided = kw
        .decide(
            principal,
            account,
            question.permission.as_ref(),
            question.project.as_deref(),
            domain::time::now(),
        )
        .await;
    match decided {
        Ok(domain::Decision::Granted { project, access }) => {
            let mut response = principal_headers(caller, Some((account, role)));
            let headers = response.headers_mut();
            if let Some(found) = &project
                && let Ok(value) = HeaderValue::from_str(&found.global_id)
            {
                headers.insert(HeaderName::from_static("x-keywarden-project"), value);
            }
            if question.include_permissions
                && let Ok(value) =
                    HeaderValue::from_str(&held_list(&access.held(project.as_ref().map(|p| p.id))))
            {
                headers.insert(HeaderName::from_static("x-keywarden-permissions"), value);
            }
            response
        }
        Ok(domain::Decision::Refused(why)) => forbidden(
            why,
            match why {
                domain::Why::NotInAccount => "The credential does not act in the required account",
                domain::Why::UnknownProject => "The account has no such project",
                domain::Why::NotHeld => "The credential does not hold the permission there",
            },
        ),
        Err(e) => {
            tracing::error!(error = %e, "permission check failed");
            (StatusCode::INTERNAL_SERVER_ERROR, INTERNAL_MESSAGE).into_response()
        }
    }
}

/// The permissions held, as the response header lists them: `*` for
/// every one, otherwise their names, sorted, with spaces between.
pub(crate) fn held_list(held: &domain::Held<'_>) -> String {
    match held {
        domain::Held::Every => "*".to_owned(),
        domain::Held::Listed(names) => names.iter().copied().collect::<Vec<_>>().join(" "),
    }
}

/// The account and role a credential acts with when none is named: a service
/// account's own, or that of a user who belongs to exactly one account.
pub(crate) fn acting(principal: &Principal) -> Option<(domain::ids::AccountId, domain::Role)> {
    match principal {
        Principal::ServiceAccount(s) => Some((s.account_id, s.role)),
        Principal::User(u) => match u.memberships.as_slice() {
            [only] => Some((only.account_id, only.role)),
            _ => None,
        },
    }
}

/// The answer for a good credential when no account is named: the account and
/// role are those of a service account, or of a user who belongs to exactly
/// one account.
pub(crate) fn verified(principal: &Principal, caller: &Caller) -> Response {
    principal_headers(caller, acting(principal))
}

/// 200 with who the caller is and, when known, the account it acts in and
/// its role there.
pub(crate) fn principal_headers(
    caller: &Caller,
    acting: Option<(domain::ids::AccountId, domain::Role)>,
) -> Response {
    let mut out = HeaderMap::new();
    let mut put = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            out.insert(HeaderName::from_static(name), v);
        }
    };
    put("x-keywarden-principal", caller.0.clone());
    if let Some((account, role)) = acting {
        put(
            "x-keywarden-account",
            domain::object_id::encode("Account", account.0),
        );
        put("x-keywarden-role", role.code().to_owned());
    }
    (StatusCode::OK, out).into_response()
}

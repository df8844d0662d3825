"""Strategies schemathesis needs for keywarden's own scalars, ObjectID and
DateTime: mostly well-formed values (small ids, so that some name real
objects), mixed with arbitrary text."""

import base64
import json

import schemathesis
from hypothesis import strategies as st
from schemathesis.graphql import nodes

TYPES = [
    "Account",
    "User",
    "ServiceAccount",
    "ServiceAccountKey",
    "PersonalAccessToken",
    "AccountMember",
    "AuditEvent",
]


def object_id(type_name, number):
    raw = f"N{len(type_name):03d}{type_name}{number}"
    return base64.b64encode(raw.encode()).decode().rstrip("=")


numbers = st.one_of(st.integers(min_value=0, max_value=20), st.integers(min_value=0, max_value=2**63 - 1))
object_ids = st.builds(object_id, st.sampled_from(TYPES), numbers)
schemathesis.graphql.scalar("ObjectID", st.one_of(object_ids, st.text(max_size=64)).map(nodes.String))

date_times = st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z")
schemathesis.graphql.scalar("DateTime", st.one_of(date_times, st.text(max_size=40)).map(nodes.String))


@schemathesis.check
def no_internal_errors(ctx, response, case):
    """Every refusal is one the API means to give: no 5xx, no error without a code,
    and no INTERNAL_SERVER_ERROR. (Errors such as ENTITY_NOT_FOUND or
    BAD_USER_INPUT are the contract's answers to the inputs generated here.)"""
    if response.status_code >= 500:
        raise AssertionError(f"HTTP {response.status_code}")
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        raise AssertionError("the body is not JSON") from None
    errors = body.get("errors") if isinstance(body, dict) else None
    for error in errors or []:
        code = (error.get("extensions") or {}).get("code")
        if not code:
            raise AssertionError(f"an error without a code: {error.get('message')}")
        if code == "INTERNAL_SERVER_ERROR":
            raise AssertionError(f"an internal error: {error.get('message')}")

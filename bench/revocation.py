"""Revocation across processes, as the benchmark shows it.

Two servers share one database. For each of N fresh keys: both servers accept
the key (so both have it cached), the key is revoked through the first, and
the very next request through the second must be refused. Prints
"stale_acceptances revoke_p50_ms revoke_p99_ms revoke_max_ms", where the revoke
times are the whole round trip of the revoke mutation through the first server,
which answers only once every listening process has confirmed the change.

Usage: revocation.py ADMIN_TOKEN SERVICE_ACCOUNT_ID URL_A URL_B N
"""

import json
import sys
import time
import urllib.error
import urllib.request

admin, service_account, url_a, url_b, rounds = sys.argv[1:6]


def post(url, token, query, variables=None):
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(
        url + "/graphql",
        data=body,
        headers={"content-type": "application/json", "x-api-key": token},
    )
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as refused:
        return refused.code, None


def must(status, body):
    if status != 200 or body is None or body.get("errors"):
        sys.exit(f"unexpected answer: {status} {body}")
    return body["data"]


CREATE = "mutation($i: CreateServiceAccountKeyInput!) { createServiceAccountKey(input: $i) { id secret } }"
REVOKE = "mutation($i: RevokeServiceAccountKeyInput!) { revokeServiceAccountKey(input: $i) { serviceAccountKey { revokedAt } } }"
ME = "{ me { id } }"

stale = 0
times = []
for _ in range(int(rounds)):
    made = must(*post(url_a, admin, CREATE, {"i": {"serviceAccountId": service_account}}))
    key = made["createServiceAccountKey"]
    must(*post(url_a, key["secret"], ME))
    must(*post(url_b, key["secret"], ME))
    started = time.perf_counter()
    must(*post(url_a, admin, REVOKE, {"i": {"serviceAccountKeyId": key["id"]}}))
    times.append((time.perf_counter() - started) * 1000)
    status, _ = post(url_b, key["secret"], ME)
    if status != 401:
        stale += 1

times.sort()
p50 = times[len(times) // 2]
p99 = times[min(len(times) - 1, (len(times) * 99) // 100)]
print(f"{stale} {p50:.2f} {p99:.2f} {times[-1]:.2f}")

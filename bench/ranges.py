"""Verification of keys with address ranges beside keys without.

On each backend, three kinds of key, 50 of each, every one on its own
service account's list of keys:
- none: account A, no ranges anywhere;
- key: account A, each key with 20 ranges of its own;
- all three: account B, whose policy, service account and keys each hold
  20 ranges (60 networks to compare a request's client with).
The client (127.0.0.1) is in the last network of every list, so every
network of a list is compared before the one that holds it. Each kind is
verified in turn with `GET /v1/verify` by wrk, 32 connections
(BENCH_CONNECTIONS), closed loop; the server runs on core 0 with its
defaults, wrk on core 1. The kinds take turns, BENCH_ROUNDS times (default
7): the median run of each kind is reported, and, for each kind with ranges,
the median over the rounds of its rate over the rate of the keys without
ranges in the same round (a drift of the machine between rounds falls on
both sides of a ratio alike).

Usage: ranges.py BINARY WORKDIR BENCHMARKS_MD (its section is replaced or added)
"""

import os
import subprocess
import sys

import benchlib
from benchlib import Client, fresh_database, replace_section, run, stop, table_head, wrk_report

binary, work, out_path = sys.argv[1:4]
duration = int(os.environ.get("BENCH_DURATION", "5"))
rounds = int(os.environ.get("BENCH_ROUNDS", "7"))
connections = int(os.environ.get("BENCH_CONNECTIONS", "32"))
backends = os.environ.get("BENCH_BACKENDS", "sqlite postgres").split()
pepper = "a pepper for the benchmark, long enough to be accepted"
port = 18599
here = os.path.dirname(os.path.abspath(__file__))
KEYS = 50
KINDS = ("none", "key", "all three")

os.sched_setaffinity(0, {1})


def networks(widest, last):
    """19 networks that do not hold 127.0.0.1, each within `widest`'s shape,
    then `last`, which does."""
    return [widest.format(i) for i in range(19)] + [last]


ACCOUNT = networks("10.{}.0.0/16", "127.0.0.0/8")
SERVICE_ACCOUNT = networks("10.{}.0.0/20", "127.0.0.0/16")
KEY = networks("10.{}.1.0/24", "127.0.0.1/32")


def keys_with(client, token, sa, ranges):
    """`KEYS` new keys of `sa`, each with `ranges`, as their secrets."""
    made = []
    while len(made) < KEYS:
        batch = min(25, KEYS - len(made))
        document = "mutation($i: CreateServiceAccountKeyInput!) { " + " ".join(
            f"k{i}: createServiceAccountKey(input: $i) {{ secret }}" for i in range(batch)) + " }"
        answer = client.gql(token, document, {"i": {"serviceAccountId": sa, "allowedRanges": ranges}})
        made += [answer[f"k{i}"]["secret"] for i in range(batch)]
    return made


def setup(backend):
    url = fresh_database(backend, work, "ranges")
    common = ["--database-url", url, "--pepper", pepper, "--log", "warn"]
    run(binary, "migrate", "--create-database", *common)
    admin_a = run(binary, "bootstrap", "--account", "A", "--admin", "alice", *common).strip()
    admin_b = run(binary, "bootstrap", "--account", "B", "--admin", "bob", *common).strip()
    server = serve(common)
    files = {}
    try:
        client = Client(port)
        account_a = client.first_account(admin_a)
        plain = client.service_account(admin_a, account_a, "plain")
        ranged = client.service_account(admin_a, account_a, "ranged")
        account_b = client.first_account(admin_b)
        client.gql(admin_b, "mutation($i: UpdateAccountCredentialPolicyInput!) { "
                   "updateAccountCredentialPolicy(input: $i) { credentialPolicy { allowedRanges } } }",
                   {"i": {"accountId": account_b, "allowedRanges": ACCOUNT}})
        everywhere = client.service_account(admin_b, account_b, "everywhere")
        client.gql(admin_b, "mutation($i: UpdateServiceAccountInput!) { "
                   "updateServiceAccount(input: $i) { serviceAccount { id } } }",
                   {"i": {"serviceAccountId": everywhere, "allowedRanges": SERVICE_ACCOUNT}})
        secrets = {
            "none": [k["secret"] for k in client.keys(admin_a, plain, KEYS)],
            "key": keys_with(client, admin_a, ranged, KEY),
            "all three": keys_with(client, admin_b, everywhere, KEY),
        }
    finally:
        stop(server)
    for kind, listed in secrets.items():
        path = os.path.join(work, f"ranges-{kind.replace(' ', '-')}.txt")
        with open(path, "w") as f:
            f.write("\n".join(listed) + "\n")
        files[kind] = path
    return common, files


def serve(common):
    return benchlib.serve(binary, common, port, os.path.join(work, "ranges-server.log"))


def verify(keys_file, seconds):
    env = {**os.environ, "KW_KEYS": keys_file, "KW_PATH": "/v1/verify", "KW_DELAY_MS": "0"}
    out = subprocess.run(
        ["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
         "-s", os.path.join(here, "keys.lua"), f"http://127.0.0.1:{port}/v1/verify"],
        env=env, capture_output=True, text=True, check=True).stdout
    rps, p50, p99, _, errors = wrk_report(out)
    return rps, p50, p99, errors


def measure(backend):
    common, files = setup(backend)
    server = serve(common)
    results = {kind: [] for kind in KINDS}
    try:
        for kind in KINDS:
            verify(files[kind], 2)
        for _ in range(rounds):
            for kind in KINDS:
                results[kind].append(verify(files[kind], duration))
    finally:
        stop(server)
    return results


def median(runs):
    return sorted(runs, key=lambda r: r[0])[(len(runs) - 1) // 2]


def main():
    measured = {backend: measure(backend) for backend in backends}
    lines = [
        "## Keys with address ranges",
        "",
        f"`BENCH_PARTS=ranges just bench` (bench/ranges.py): {KEYS} keys of each kind verified in turn "
        f"with `GET /v1/verify` by wrk, {connections} connections, closed loop: keys with no ranges; "
        f"keys with 20 ranges each; keys with 20 of their own under a service account of 20 and an "
        f"account of 20 (60 networks). The client, 127.0.0.1, is in the last network of each list. "
        f"The server on core 0 with its defaults, wrk on core 1. Median of {rounds}, {duration} s "
        f"runs, the kinds taking turns; the ratios are each round's, and their median:",
        "",
        *table_head(backends),
    ]

    def row(label, cell):
        lines.append(f"| {label} | " + " | ".join(cell(measured[b]) for b in backends) + " |")

    labels = {"none": "no ranges", "key": "20 ranges on the key",
              "all three": "20 each on the key, its service account and its account"}
    for kind in KINDS:
        row(labels[kind], lambda m, kind=kind: "{:,.0f}/s, p50 {:.2f} ms, p99 {:.2f} ms, {:.0f} errors".format(
            *median(m[kind])))
    def paired(m, kind):
        ratios = sorted(r[0] / n[0] for r, n in zip(m[kind], m["none"]))
        return ratios[(len(ratios) - 1) // 2], ratios[0], ratios[-1]

    for kind in KINDS[1:]:
        row(f"{labels[kind]}: rate over no ranges in the same round, median (lowest, highest)",
            lambda m, kind=kind: "{:.2f}x ({:.2f}x, {:.2f}x)".format(*paired(m, kind)))
    lines += ["", f"Measured with {run(binary, '--version').strip()}."]
    replace_section(out_path, "## Keys with address ranges", "\n".join(lines) + "\n")
    print("\n".join(lines))


main()

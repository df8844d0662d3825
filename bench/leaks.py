"""Verification while leak reports arrive.

On each backend, account A has 20 service accounts with 50 keys each, verified
in turn with `GET /v1/verify` by wrk, 32 connections (BENCH_CONNECTIONS),
closed loop, and paced at about BENCH_KNOWN_RATE a second (default 5,000).
Beside it, a second wrk sends holders' reports (`POST /v1/leaks`, one
connection, paced) at BENCH_REPORT_RATE a second (default 100), each from a random address in
10.0.0.0/8 named by `X-Forwarded-For` (the server trusts 127.0.0.1 as a
proxy): nine in ten are distinct well-formed unknown tokens, one in ten a live
key of account B, which its report revokes (a write, with its audit event and
the notice to every process). The server runs on core 0; both wrk processes
share core 1.

On a machine of two cores, any second client on core 1 takes some of wrk's
time, whatever it asks. So each round also measures A's keys beside the
control: the same second wrk at the same pace asking `GET /healthz`. The
reports' own cost is the rate during the reports over the rate beside the
control; over quiet, the ratio is that cost and the second client's together.

Reported: A's rate and p99 quiet, beside the control and during the reports,
their ratios, the reports' rate achieved, and how many of B's keys were
revoked. Each is measured BENCH_ROUNDS times (default 3), quiet, control and
reported taking turns; the median is reported.

Usage: leaks.py BINARY WORKDIR BENCHMARKS_MD (its section is replaced or added)
"""

import os
import secrets
import subprocess
import sys
import time

import benchlib
from benchlib import BASE62, Client, checksum, fresh_database, replace_section, run, stop, table_head, wrk_report

binary, work, out_path = sys.argv[1:4]
duration = int(os.environ.get("BENCH_DURATION", "5"))
rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
connections = int(os.environ.get("BENCH_CONNECTIONS", "32"))
backends = os.environ.get("BENCH_BACKENDS", "sqlite postgres").split()
report_rate = int(os.environ.get("BENCH_REPORT_RATE", "100"))
# One report in this many is of a live key (0: none).
live_every = int(os.environ.get("BENCH_LIVE_EVERY", "10"))
known_rate = int(os.environ.get("BENCH_KNOWN_RATE", "5000"))
known_delay_ms = max(1, round(connections * 1000 / known_rate))
pepper = "a pepper for the benchmark, long enough to be accepted"
port = 18499
here = os.path.dirname(os.path.abspath(__file__))
SERVICE_ACCOUNTS = 20
KEYS_EACH = 50

os.sched_setaffinity(0, {1})


def unknown_token():
    prefix = f"lmr_sa_{1 + secrets.randbelow(10**6)}_"
    body = prefix + "".join(secrets.choice(BASE62) for _ in range(32))
    return body + checksum(body)


def known(keys_file, seconds, paced):
    env = {**os.environ, "KW_KEYS": keys_file, "KW_PATH": "/v1/verify",
           "KW_DELAY_MS": str(known_delay_ms if paced else 0)}
    out = subprocess.run(
        ["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
         "-s", os.path.join(here, "keys.lua"), f"http://127.0.0.1:{port}/v1/verify"],
        env=env, capture_output=True, text=True, check=True).stdout
    rps, p50, p99, _, errors = wrk_report(out)
    return rps, p50, p99, errors


def reporter(tokens_file, offset, seconds, path="/v1/leaks"):
    """wrk sending holders' reports at about `report_rate` a second: one
    connection, paced, from line `offset` of the tokens file; with `path`
    /healthz, the same pace of health checks (the control)."""
    env = {**os.environ, "KW_TOKENS": tokens_file, "KW_PATH": path,
           "KW_DELAY_MS": str(max(1, round(900 / report_rate))), "KW_OFFSET": str(offset)}
    return subprocess.Popen(
        ["taskset", "-c", "1", "wrk", "-t1", "-c1", f"-d{seconds}s", "--latency",
         "-s", os.path.join(here, "leaks.lua"), f"http://127.0.0.1:{port}{path}"],
        env=env, stdout=subprocess.PIPE, text=True)


def reports_file(live_b, count):
    """`count` tokens to report: nine in ten distinct well-formed unknown
    ones, one in ten (BENCH_LIVE_EVERY) a live key of account B."""
    path = os.path.join(work, "leaks-reports.txt")
    live = list(live_b)
    tokens = []
    for i in range(count):
        if live_every and i % live_every == live_every - 1 and live:
            tokens.append(live.pop())
        else:
            tokens.append(unknown_token())
    with open(path, "w") as f:
        f.write("\n".join(tokens) + "\n")
    return path


def setup(backend):
    url = fresh_database(backend, work, "leaks")
    common = ["--database-url", url, "--pepper", pepper, "--log", "warn"]
    run(binary, "migrate", "--create-database", *common)
    admin_a = run(binary, "bootstrap", "--account", "A", "--admin", "alice", *common).strip()
    admin_b = run(binary, "bootstrap", "--account", "B", "--admin", "bob", *common).strip()
    server = serve(common)
    try:
        client = Client(port)
        account = client.first_account(admin_a)
        keys = []
        for i in range(SERVICE_ACCOUNTS):
            sa = client.service_account(admin_a, account, f"gateway-{i}")
            keys += [k["secret"] for k in client.keys(admin_a, sa, KEYS_EACH)]
        account_b = client.first_account(admin_b)
        live_b = []
        # Enough of B's keys for every reported run, 50 to a service account.
        needed = rounds * 2 * (duration + 1) * report_rate // max(live_every, 1) + 50 if live_every else 0
        for i in range(needed // 50 + 1):
            sa = client.service_account(admin_b, account_b, f"leaky-{i}")
            live_b += [k["secret"] for k in client.keys(admin_b, sa, 50)]
    finally:
        stop(server)
    keys_file = os.path.join(work, "leaks-keys.txt")
    with open(keys_file, "w") as f:
        f.write("\n".join(keys) + "\n")
    return common, keys_file, live_b


def serve(common):
    return benchlib.serve(binary, [*common, "--trusted-proxies", "127.0.0.1"], port,
                          os.path.join(work, "leaks-server.log"))


def measure(backend):
    common, keys_file, live_b = setup(backend)
    per_run = report_rate * (duration + 2)
    tokens_file = reports_file(live_b, per_run * rounds * 2)
    server = serve(common)
    results = {f"{kind}{suffix}": [] for kind in ("quiet", "control", "reported")
               for suffix in ("", " paced")}
    sent = []
    offset = 0
    try:
        known(keys_file, 2, False)
        for _ in range(rounds):
            for paced in (False, True):
                suffix = " paced" if paced else ""
                results["quiet" + suffix].append(known(keys_file, duration, paced))
                control = reporter(tokens_file, 0, duration + 1, "/healthz")
                time.sleep(0.5)
                results["control" + suffix].append(known(keys_file, duration, paced))
                control.communicate()
                reporting = reporter(tokens_file, offset, duration + 1)
                offset += per_run
                time.sleep(0.5)
                results["reported" + suffix].append(known(keys_file, duration, paced))
                sent.append(wrk_report(reporting.communicate()[0]))
    finally:
        stop(server)
    revoked = metric_revoked(common)
    return results, sent, revoked


def metric_revoked(common):
    """How many of B's keys a report revoked: counted in the audit log."""
    url = common[common.index("--database-url") + 1]
    query = "SELECT count(*) FROM audit_events WHERE action = 'credential.leak'"
    if url.startswith("sqlite://"):
        path = url[len("sqlite://"):].split("?")[0]
        return int(run("sqlite3", path, query).strip())
    return int(run("psql", url, "-tAc", query).strip())


def median(runs):
    return sorted(runs, key=lambda r: r[0])[(len(runs) - 1) // 2]


def main():
    measured = {backend: measure(backend) for backend in backends}
    lines = [
        "## Verification while leaks are reported",
        "",
        f"`BENCH_PARTS=leaks just bench` (bench/leaks.py): account A's 1,000 keys verified in turn with "
        f"`GET /v1/verify` by wrk, {connections} connections, while a second wrk sends holders' reports "
        f"(`POST /v1/leaks`) at {report_rate}/s, each from a random address in 10.0.0.0/8 named by "
        f"`X-Forwarded-For`: nine in ten distinct well-formed unknown tokens, one in ten a live key of "
        f"account B, which the report revokes. The server on core 0 with its defaults and "
        f"`--trusted-proxies 127.0.0.1`; both wrk processes on core 1. The control is the same second "
        f"wrk at the same pace asking `GET /healthz`: what a second client on core 1 costs wrk by "
        f"itself, so the reports' own cost is the rate during them over the rate beside the control. "
        f"Median of {rounds}, {duration} s runs, quiet, control and reported taking turns:",
        "",
        *table_head(backends),
    ]

    def row(label, cell):
        lines.append(f"| {label} | " + " | ".join(cell(measured[b]) for b in backends) + " |")

    def fmt(r):
        return f"{r[0]:,.0f}/s, p50 {r[1]:.2f} ms, p99 {r[2]:.2f} ms, {r[3]:.0f} errors"

    for suffix, label in (("", "closed loop"), (" paced", f"paced at about {known_rate:,}/s")):
        q = lambda m, suffix=suffix: median(m[0]["quiet" + suffix])  # noqa: E731
        c = lambda m, suffix=suffix: median(m[0]["control" + suffix])  # noqa: E731
        r = lambda m, suffix=suffix: median(m[0]["reported" + suffix])  # noqa: E731
        row(f"A's keys {label}, quiet", lambda m, q=q: fmt(q(m)))
        row(f"A's keys {label}, beside the control", lambda m, c=c: fmt(c(m)))
        row(f"A's keys {label}, during the reports", lambda m, r=r: fmt(r(m)))
        row(f"{label}: rate during the reports over beside the control",
            lambda m, c=c, r=r: f"{r(m)[0] / c(m)[0]:.2f}x")
        row(f"{label}: rate during the reports over quiet", lambda m, q=q, r=r: f"{r(m)[0] / q(m)[0]:.2f}x")
        row(f"{label}: p99 during the reports over beside the control",
            lambda m, c=c, r=r: f"{r(m)[2] / c(m)[2]:.2f}x")
        row(f"{label}: p99 during the reports over quiet", lambda m, q=q, r=r: f"{r(m)[2] / q(m)[2]:.2f}x")

    def reports(m):
        rates = [r[0] for r in m[1]]
        refused = sum(r[4] for r in m[1])
        return f"{min(rates):,.0f} to {max(rates):,.0f}/s, {refused} not answered 202"

    row("reports achieved in each run", reports)
    row("B's keys revoked by a report", lambda m: f"{m[2]:,}")
    lines += ["", f"Measured with {run(binary, '--version').strip()}."]
    replace_section(out_path, "## Verification while leaks are reported", "\n".join(lines) + "\n")
    print("\n".join(lines))


main()

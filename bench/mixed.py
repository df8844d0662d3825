"""Verification while other accounts write: the benchmark's mixed workload.

Account A has 100 service accounts with 50 keys each. A gateway verifies all
5,000 in turn with `GET /v1/verify?account=A`, and, as a second case, they
query `{ me { id name } }`. Meanwhile:

- nothing else happens (quiet);
- account B's automation creates and deletes service accounts at 1, 10 and
  100 changes a second;
- account A rotates keys of another of its service accounts at 10 a second.

SQLite runs one server process; PostgreSQL two, sharing the load (wrk sends
half the connections to each; B's and A's writes go through the first). The
servers run on core 0, wrk and the writers on core 1. Each configuration is
measured BENCH_ROUNDS times, the configurations taking turns, and the run with
the median rate is reported, with database reads per second for verification
(from keywarden_verification_reads_total) and the write rate achieved.

Usage: mixed.py BINARY WORKDIR BENCHMARKS_MD (its section is replaced or added)
Knobs: BENCH_DURATION, BENCH_ROUNDS, BENCH_CONNECTIONS, BENCH_BACKENDS.
"""

import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time

from benchlib import Client, replace_section, run, wait_healthy, wrk_report

binary, work, out_path = sys.argv[1:4]
duration = int(os.environ.get("BENCH_DURATION", "5"))
rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
connections = int(os.environ.get("BENCH_CONNECTIONS", "32"))
backends = os.environ.get("BENCH_BACKENDS", "sqlite postgres").split()
pepper = "a pepper for the benchmark, long enough to be accepted"
pg_server = "postgres://postgres@127.0.0.1:5432"
port = 18199
SERVICE_ACCOUNTS = 100
KEYS_EACH = 50

# The load (wrk and the writers in this process) runs on core 1.
os.sched_setaffinity(0, {1})


def reads(ports):
    total = 0
    for p in ports:
        conn = http.client.HTTPConnection("127.0.0.1", p, timeout=10)
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
        match = re.search(r"^keywarden_verification_reads_total (\d+)", text, re.M)
        total += int(match.group(1)) if match else 0
    return total


def wrk(ports, env, lua):
    """wrk against every port at once, connections shared out; returns
    (requests/s, p50 ms, p99 ms, errors)."""
    per = max(1, connections // len(ports))
    runs = []
    for p in ports:
        args = ["taskset", "-c", "1", "wrk", "-t1", f"-c{per}", f"-d{duration}s", "--latency"]
        if lua:
            args += ["-s", lua]
        args.append(f"http://127.0.0.1:{p}{env.get('KW_PATH', '/')}")
        runs.append(
            subprocess.Popen(
                args, env={**os.environ, **env}, stdout=subprocess.PIPE, text=True
            )
        )
    rps = p50 = p99 = 0.0
    errors = 0
    for run in runs:
        one_rps, one_p50, one_p99, _, one_errors = wrk_report(run.communicate()[0])
        rps += one_rps
        p50 += one_p50 / len(runs)
        p99 = max(p99, one_p99)
        errors += one_errors
    return rps, p50, p99, errors


class Writer(threading.Thread):
    """Makes changes at `rate` a second until stopped; counts them."""

    def __init__(self, rate, change):
        super().__init__(daemon=True)
        self.rate, self.change = rate, change
        self.done = 0
        self.stopping = threading.Event()
        self.started_at = self.stopped_at = 0.0

    def run(self):
        self.started_at = time.monotonic()
        while not self.stopping.is_set():
            due = self.started_at + self.done / self.rate
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self.change()
            self.done += 1
        self.stopped_at = time.monotonic()

    def stop(self):
        self.stopping.set()
        self.join()
        return self.done / max(self.stopped_at - self.started_at, 1e-9)


def churn(client, token, account):
    """Account B's automation: create a service account, then delete it."""
    state = {"next": 0, "pending": None}

    def change():
        if state["pending"] is None:
            state["next"] += 1
            made = client.gql(
                token,
                "mutation($a: ObjectID!, $n: String!) { createServiceAccount(input: "
                "{accountId: $a, name: $n, roleCode: Editor}) { serviceAccount { id } } }",
                {"a": account, "n": f"churn-{state['next']}"},
            )
            state["pending"] = made["createServiceAccount"]["serviceAccount"]["id"]
        else:
            client.gql(
                token,
                "mutation($s: ObjectID!) { deleteServiceAccount(input: {serviceAccountId: $s}) "
                "{ serviceAccount { id } } }",
                {"s": state["pending"]},
            )
            state["pending"] = None

    return change


def rotate(client, token, key_ids):
    """Account A rotates the keys of another of its service accounts, in turn,
    each replaced at once (no overlap)."""
    state = {"next": 0}

    def change():
        i = state["next"] % len(key_ids)
        state["next"] += 1
        rotated = client.gql(
            token,
            "mutation($k: ObjectID!) { rotateServiceAccountKey(input: "
            "{serviceAccountKeyId: $k, overlapSeconds: 0}) { id secret } }",
            {"k": key_ids[i]},
        )
        key_ids[i] = rotated["rotateServiceAccountKey"]["id"]

    return change


def setup(backend):
    if backend == "sqlite":
        path = os.path.join(work, "mixed.db")
        for suffix in ("", "-wal", "-shm", ".changes"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        url = f"sqlite://{path}?mode=rwc"
    else:
        run("psql", f"{pg_server}/postgres", "-qc", "DROP DATABASE IF EXISTS kw_bench_mixed WITH (FORCE)",
            "-qc", "CREATE DATABASE kw_bench_mixed")
        url = f"{pg_server}/kw_bench_mixed"
    common = ["--database-url", url, "--pepper", pepper, "--log", "warn"]
    run(binary, "migrate", "--create-database", *common)
    admin_a = run(binary, "bootstrap", "--account", "A", "--admin", "alice", *common).strip()
    admin_b = run(binary, "bootstrap", "--account", "B", "--admin", "bert", *common).strip()
    processes = 2 if backend == "postgres" else 1
    ports = [port + i for i in range(processes)]
    servers = []
    for p in ports:
        servers.append(
            subprocess.Popen(
                ["taskset", "-c", "0", binary, "serve", *common, "--listen", f"127.0.0.1:{p}",
                 "--auth-failures-per-minute", "1000000"],
                stdout=subprocess.DEVNULL,
                stderr=open(os.path.join(work, f"server-{p}.log"), "w"),
            )
        )
    try:
        for p in ports:
            wait_healthy(p)
        return servers, ports, seed(servers, ports, admin_a, admin_b)
    except BaseException:
        for server in servers:
            server.kill()
        raise


def seed(servers, ports, admin_a, admin_b):
    client = Client(ports[0])
    account_a = client.first_account(admin_a)
    account_b = client.first_account(admin_b)
    service_account = lambda name: client.service_account(admin_a, account_a, name)  # noqa: E731
    keys = lambda sa, n: client.keys(admin_a, sa, n)  # noqa: E731

    secrets = []
    for i in range(SERVICE_ACCOUNTS):
        secrets += [k["secret"] for k in keys(service_account(f"gateway-{i}"), KEYS_EACH)]
    deployer = [k["id"] for k in keys(service_account("deployer"), 10)]
    keys_file = os.path.join(work, "keys.txt")
    with open(keys_file, "w") as f:
        f.write("\n".join(secrets) + "\n")
    return {
        "client": client,
        "admin_a": admin_a,
        "admin_b": admin_b,
        "account_a": account_a,
        "account_b": account_b,
        "deployer": deployer,
        "keys_file": keys_file,
    }


CONDITIONS = [
    ("quiet", None, 0),
    ("B churns 1/s", "churn", 1),
    ("B churns 10/s", "churn", 10),
    ("B churns 100/s", "churn", 100),
    ("A rotates 10/s", "rotate", 10),
]


def measure(backend):
    servers, ports, world = setup(backend)
    try:
        return measure_on(ports, world)
    finally:
        for server in servers:
            server.terminate()
            server.wait()


def measure_on(ports, world):
    cases = {
        "GET /v1/verify": {"KW_PATH": f"/v1/verify?account={world['account_a']}", "KW_METHOD": "GET"},
        "{ me { id name } }": {
            "KW_PATH": "/graphql",
            "KW_METHOD": "POST",
            "KW_BODY": json.dumps({"query": "{ me { id name } }"}),
        },
    }
    lua = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keys.lua")
    results = {}
    healthz = []
    # Every key verified once, so that every run starts from a warm cache.
    wrk(ports, {"KW_KEYS": world["keys_file"], **cases["GET /v1/verify"]}, lua)
    for _ in range(rounds):
        healthz.append(wrk(ports, {"KW_PATH": "/healthz"}, None))
        for condition, kind, rate in CONDITIONS:
            for case, env in cases.items():
                writer = None
                if kind == "churn":
                    writer = Writer(rate, churn(Client(ports[0]), world["admin_b"], world["account_b"]))
                elif kind == "rotate":
                    writer = Writer(rate, rotate(Client(ports[0]), world["admin_a"], world["deployer"]))
                if writer:
                    writer.start()
                    time.sleep(0.5)
                before = reads(ports)
                started = time.monotonic()
                rps, p50, p99, errors = wrk(ports, {"KW_KEYS": world["keys_file"], **env}, lua)
                read_rate = (reads(ports) - before) / (time.monotonic() - started)
                achieved = writer.stop() if writer else 0.0
                results.setdefault((condition, case), []).append(
                    (rps, p50, p99, errors, read_rate, achieved)
                )
    return results, healthz


def median(runs):
    ordered = sorted(runs, key=lambda r: r[0])
    middle = list(ordered[(len(ordered) - 1) // 2])
    middle[3] = sum(r[3] for r in runs)
    return middle


PRODUCED_BY = (
    "`just bench` (`bench/run.sh`, which runs `bench/mixed.py` after the part above)"
    if "single" in os.environ.get("BENCH_PARTS", "single mixed").split()
    else "`BENCH_PARTS=mixed just bench` (`bench/run.sh` running `bench/mixed.py` alone; "
    "the part above is left as it was)"
)
METHOD = f"""## Verification while other accounts write

Measured {time.strftime("%Y-%m-%d")}. Produced by {PRODUCED_BY}. Per backend: `keywarden migrate`; `keywarden bootstrap` for account A and for
account B; `taskset -c 0 keywarden serve --database-url URL --pepper PEPPER --log warn
--auth-failures-per-minute 1000000` (one process on SQLite, two on PostgreSQL); through the API,
account A's 100 service accounts with 50 keys each, and a service account `deployer` with 10 keys.
Every key is verified once before the runs. Each run: `taskset -c 1 wrk -t1 -c{connections} -d{duration}s
--latency` through `bench/keys.lua`, which takes the 5,000 keys in turn (on PostgreSQL one wrk per
process, each with half the connections; their rates added, p50 averaged, p99 the larger). The writers
run on core 1 too, through the first process, paced to their rate: B creates a service account, then
deletes it (each is one change); A rotates the `deployer` keys in turn with no overlap. Every
configuration runs {rounds} times, taking turns; the run with the median rate is shown, with the
errors of all its runs. "Verification reads/s" is the growth of `keywarden_verification_reads_total`
(every process) over the run: besides what the writes make stale, it includes each cache entry
being read again 30 to 60 seconds after its read (5,000 keys: about 110 reads a second on average,
spread over time).
"""


def section(backend, results, healthz):
    lines = []
    h = median(healthz)
    processes = "two processes" if backend == "postgres" else "one process"
    name = "PostgreSQL" if backend == "postgres" else "SQLite"
    lines.append(f"### {name}, {processes}\n")
    lines.append(f"`/healthz` (no credential): {h[0]:,.0f} requests/s, p50 {h[1]:.2f} ms, p99 {h[2]:.2f} ms.\n")
    lines.append("| case | while | requests/s | vs. quiet | p50 ms | p99 ms | p99 vs. quiet | errors | verification reads/s | writes/s done |")
    lines.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    targets = []
    for case in ("GET /v1/verify", "{ me { id name } }"):
        quiet = median(results[("quiet", case)])
        for condition, _, rate in CONDITIONS:
            rps, p50, p99, errors, read_rate, achieved = median(results[(condition, case)])
            lines.append(
                f"| `{case}` | {condition} | {rps:,.0f} | {rps / quiet[0]:.2f}x | {p50:.2f} | {p99:.2f} | "
                f"{p99 / quiet[2]:.2f}x | {errors} | {read_rate:,.1f} | {achieved:.1f} |"
            )
            if condition.startswith("B churns") and rate >= 10:
                floor = 0.9 if rate == 10 else 0.8
                ratio = rps / quiet[0]
                targets.append((f"{name}: `{case}` while {condition}: {floor}x or more of quiet", f"{ratio:.2f}x", ratio >= floor))
                if rate == 10:
                    ratio = p99 / quiet[2]
                    targets.append((f"{name}: `{case}` while {condition}: p99 at most 2x quiet", f"{ratio:.2f}x", ratio <= 2))
        if case == "{ me { id name } }":
            ratio = quiet[0] / h[0]
            targets.append((f"{name}: `{{ me {{ id name }} }}` quiet at 0.42x or more of `/healthz`", f"{ratio:.2f}x", ratio >= 0.42))
    lines.append("")
    return lines, targets


lines = [METHOD]
all_targets = []
for backend in backends:
    results, healthz = measure(backend)
    more, targets = section(backend, results, healthz)
    lines += more
    all_targets += targets
lines.append("### Targets of this workload\n")
lines.append("| target | figure | met |")
lines.append("|---|---|---|")
for text, figure, ok in all_targets:
    lines.append(f"| {text} | {figure} | {'yes' if ok else '**no**'} |")
lines.append("")
text = "\n".join(lines)

# Into BENCHMARKS.md: replaces this section if it is there, else goes at the end.
replace_section(out_path, "## Verification while other accounts write", text)
print(text)

"""The largest accepted write, and what it does to another account's write.

Account B has a group and 100 service accounts. Each round, B's Admin takes all
100 out of the group and puts them back with one `addGroupMembers` naming all
100 (the most one change may name; `GroupMembersInput.memberIds`), then sends
the same change with one id 100 times. Meanwhile account A's Admin creates
service accounts one after another. The round trip of B's largest change is an
upper bound on how long it holds the write transaction; A's writes show what
waiting on it costs another account. A request one past the limit (30,000 ids,
as once sent) is timed too: it is refused before anything is read.

Last, 32 writers at once: wrk with 32 connections, each request creating a
service account in account A (bench/create.lua), BENCH_WRITER_RUNS runs of
BENCH_DURATION seconds, the run with the median rate shown. On SQLite the
writers of a process take turns in the order they came, so the slowest wait
is about one queue's length of writes, not a busy handler's lottery.

Usage: largest.py BINARY WORKDIR BENCHMARKS_MD (its section is replaced or added)
Knobs: BENCH_ROUNDS (default 30), BENCH_BACKENDS, BENCH_DURATION (default 5),
BENCH_WRITER_RUNS (default 3).
"""

import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time

from benchlib import replace_section, run, wait_healthy, wrk_report

binary, work, out_path = sys.argv[1:4]
rounds = int(os.environ.get("BENCH_ROUNDS_LARGEST", os.environ.get("BENCH_ROUNDS", "30")))
rounds = max(rounds, 10)
backends = os.environ.get("BENCH_BACKENDS", "sqlite postgres").split()
pepper = "a pepper for the benchmark, long enough to be accepted"
pg_server = "postgres://postgres@127.0.0.1:5432"
port = 18299
MEMBERS = 100
duration = int(os.environ.get("BENCH_DURATION", "5"))
writer_runs = max(1, int(os.environ.get("BENCH_WRITER_RUNS", "3")))
WRITERS = 32

os.sched_setaffinity(0, {1})


class Client:
    def __init__(self, p):
        self.conn = http.client.HTTPConnection("127.0.0.1", p, timeout=60)

    def send(self, token, query, variables=None):
        body = json.dumps({"query": query, "variables": variables or {}})
        self.conn.request("POST", "/graphql", body=body,
                          headers={"content-type": "application/json", "x-api-key": token})
        response = self.conn.getresponse()
        return response.status, json.loads(response.read())

    def gql(self, token, query, variables=None):
        status, answer = self.send(token, query, variables)
        if status != 200 or answer.get("errors"):
            raise RuntimeError(f"{status}: {answer}")
        return answer["data"]


def quantiles(samples):
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return pick(0.5), pick(0.99), ordered[-1]


CREATE_SA = ("mutation($a: ObjectID!, $n: String!) { createServiceAccount(input: "
             "{ accountId: $a, name: $n, roleCode: \"Viewer\" }) { serviceAccount { id } } }")
ADD = ("mutation($g: ObjectID!, $m: [ObjectID!]!) { addGroupMembers(input: "
       "{ groupId: $g, memberIds: $m }) { group { id } } }")
REMOVE = ("mutation($g: ObjectID!, $m: [ObjectID!]!) { removeGroupMembers(input: "
          "{ groupId: $g, memberIds: $m }) { group { id } } }")


def writers(token, account):
    """32 connections creating service accounts: the median run's
    (requests/s, p50, p99, max ms, errors)."""
    runs = []
    for n in range(writer_runs):
        env = {**os.environ, "KW_KEY": token, "KW_ACCOUNT": account, "KW_PREFIX": f"crowd{n}"}
        out = subprocess.run(
            ["wrk", "-t1", f"-c{WRITERS}", f"-d{duration}s", "--latency", "-s", "bench/create.lua",
             f"http://127.0.0.1:{port}/graphql"],
            env=env, check=True, capture_output=True, text=True).stdout
        rps, p50, p99, slowest, errors = wrk_report(out)
        failed = int(re.search(r"^failed (\d+)", out, re.M).group(1))
        runs.append((rps, p50, p99, slowest, errors + failed))
    errors = sum(run[4] for run in runs)
    middle = sorted(runs)[(len(runs) - 1) // 2]
    return middle[:4] + (errors,)


def measure(backend):
    if backend == "sqlite":
        path = os.path.join(work, "largest.db")
        for suffix in ("", "-wal", "-shm", ".changes"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        url = f"sqlite://{path}?mode=rwc"
    else:
        run("psql", f"{pg_server}/postgres", "-qc", "DROP DATABASE IF EXISTS kw_bench_largest WITH (FORCE)",
            "-qc", "CREATE DATABASE kw_bench_largest")
        url = f"{pg_server}/kw_bench_largest"
    common = ["--database-url", url, "--pepper", pepper, "--log", "warn"]
    run(binary, "migrate", "--create-database", *common)
    admin_a = run(binary, "bootstrap", "--account", "A", "--admin", "alice", *common).strip()
    admin_b = run(binary, "bootstrap", "--account", "B", "--admin", "bert", *common).strip()
    server = subprocess.Popen(
        ["taskset", "-c", "0", binary, "serve", *common, "--listen", f"127.0.0.1:{port}",
         "--auth-failures-per-minute", "1000000"],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "largest-server.log"), "w"))
    try:
        wait_healthy(port)
        client = Client(port)
        me = "{ me { ... on User { accounts { id } } } }"
        account_a = client.gql(admin_a, me)["me"]["accounts"][0]["id"]
        account_b = client.gql(admin_b, me)["me"]["accounts"][0]["id"]
        group = client.gql(admin_b, "mutation($a: ObjectID!) { createGroup(input: { accountId: $a, name: \"crowd\" }) "
                           "{ group { id } } }", {"a": account_b})["createGroup"]["group"]["id"]
        members = [client.gql(admin_b, CREATE_SA, {"a": account_b, "n": f"b-{i}"})
                   ["createServiceAccount"]["serviceAccount"]["id"] for i in range(MEMBERS)]

        largest, repeated = [], []
        stop = threading.Event()
        theirs = []

        def a_writes():
            a = Client(port)
            i = 0
            while not stop.is_set():
                started = time.perf_counter()
                a.gql(admin_a, CREATE_SA, {"a": account_a, "n": f"a-{i}"})
                theirs.append((time.perf_counter() - started) * 1000)
                i += 1

        client.gql(admin_b, ADD, {"g": group, "m": members})
        writer = threading.Thread(target=a_writes)
        writer.start()
        try:
            for _ in range(rounds):
                client.gql(admin_b, REMOVE, {"g": group, "m": members})
                started = time.perf_counter()
                client.gql(admin_b, ADD, {"g": group, "m": members})
                largest.append((time.perf_counter() - started) * 1000)
                client.gql(admin_b, REMOVE, {"g": group, "m": members})
                started = time.perf_counter()
                client.gql(admin_b, ADD, {"g": group, "m": [members[0]] * MEMBERS})
                repeated.append((time.perf_counter() - started) * 1000)
                client.gql(admin_b, ADD, {"g": group, "m": members})
        finally:
            stop.set()
            writer.join()
        refused = []
        for _ in range(10):
            started = time.perf_counter()
            status, answer = client.send(admin_b, ADD, {"g": group, "m": [members[0]] * 30_000})
            refused.append((time.perf_counter() - started) * 1000)
            code = answer["errors"][0]["extensions"]["code"]
            if status != 400 or code != "BAD_USER_INPUT":
                raise RuntimeError(f"30,000 ids: {status} {answer}")
        crowd = writers(admin_a, account_a)
        return (quantiles(largest), quantiles(repeated), quantiles(theirs), len(theirs),
                quantiles(refused), crowd)
    finally:
        server.kill()
        server.wait()


lines = ["## The largest accepted write", "",
         f"Measured {time.strftime('%Y-%m-%d')} by `bench/largest.py` (the last part of `just bench`; alone: "
         "`BENCH_PARTS=largest just bench`, or `python3 bench/largest.py target/release/keywarden "
         "WORKDIR BENCHMARKS.md`). One server on core 0, the clients on core 1. "
         f"Account B's Admin, {rounds} rounds: take the group's {MEMBERS} members out, then one "
         f"`addGroupMembers` naming {MEMBERS} service accounts (the most a change may name), then "
         f"the same change naming one id {MEMBERS} times; all the while account A's Admin creates "
         "service accounts back to back. The round trip of B's change bounds how long it holds the "
         "write transaction. Then ten requests naming 30,000 ids, refused with `BAD_USER_INPUT`. "
         "With this many samples p99 is the slowest but one or the slowest. Last, account A alone: "
         f"`wrk -t1 -c{WRITERS} -d{duration}s --latency -s bench/create.lua`, every request creating a "
         f"service account, {writer_runs} runs, the median rate's run shown (errors: of every run, "
         "including answers without a service account).", "",
         "| backend | B: 100 members, one change (p50 / p99 / max ms) | B: one id 100 times | "
         "A's single writes meanwhile (p50 / p99 / max ms, count) | 30,000 ids refused |",
         "|---|---:|---:|---:|---:|"]
targets = []
crowds = []
for backend in backends:
    big, same, theirs, count, refused, crowd = measure(backend)
    crowds.append((backend, crowd))
    fmt = lambda q: " / ".join(f"{x:.2f}" for x in q)  # noqa: E731
    name = "PostgreSQL" if backend == "postgres" else "SQLite"
    lines.append(f"| {name} | {fmt(big)} | {fmt(same)} | {fmt(theirs)}, {count} | {fmt(refused)} |")
    targets.append((f"{name}: another account's single write, p99 under 50 ms", f"{theirs[1]:.2f} ms", theirs[1] < 50))
    targets.append((f"{name}: 30,000 ids refused, p99 under 100 ms", f"{refused[1]:.2f} ms", refused[1] < 100))
    rps, p50, p99, slowest, errors = crowd
    targets.append((f"{name}: {WRITERS} writers, p99 under 50 ms", f"{p99:.2f} ms", p99 < 50))
    targets.append((f"{name}: {WRITERS} writers, no errors", str(errors), errors == 0))
lines.append("")
lines.append(f"| backend | {WRITERS} writers: writes/s | p50 ms | p99 ms | max ms | errors |")
lines.append("|---|---:|---:|---:|---:|---:|")
for backend, (rps, p50, p99, slowest, errors) in crowds:
    name = "PostgreSQL" if backend == "postgres" else "SQLite"
    lines.append(f"| {name} | {rps:,.0f} | {p50:.2f} | {p99:.2f} | {slowest:.2f} | {errors} |")
lines.append("")
lines.append("| target | figure | met |")
lines.append("|---|---|---|")
for text, figure, ok in targets:
    lines.append(f"| {text} | {figure} | {'yes' if ok else '**no**'} |")
lines.append("")
text = "\n".join(lines)

replace_section(out_path, "## The largest accepted write", text)
print(text)

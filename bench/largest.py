"""The largest accepted write, and what it does to another account's write.

Account B has a group and 100 service accounts. Each round, B's Admin takes all
100 out of the group and puts them back with one `addGroupMembers` naming all
100 (the most one change may name; `GroupMembersInput.memberIds`), then sends
the same change with one id 100 times. Meanwhile account A's Admin creates
service accounts one after another. The round trip of B's largest change is an
upper bound on how long it holds the write transaction; A's writes show what
waiting on it costs another account. A request one past the limit (30,000 ids,
as once sent) is timed too: it is refused before anything is read.

Usage: largest.py BINARY WORKDIR BENCHMARKS_MD (its section is replaced or added)
Knobs: BENCH_ROUNDS (default 30), BENCH_BACKENDS.
"""

import http.client
import json
import os
import subprocess
import sys
import threading
import time

binary, work, out_path = sys.argv[1:4]
rounds = int(os.environ.get("BENCH_ROUNDS_LARGEST", os.environ.get("BENCH_ROUNDS", "30")))
rounds = max(rounds, 10)
backends = os.environ.get("BENCH_BACKENDS", "sqlite postgres").split()
pepper = "a pepper for the benchmark, long enough to be accepted"
pg_server = "postgres://postgres@127.0.0.1:5432"
port = 18299
MEMBERS = 100

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


def run(*args):
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def wait_healthy(p):
    for _ in range(200):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", p, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError("the server did not start")


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
        return quantiles(largest), quantiles(repeated), quantiles(theirs), len(theirs), quantiles(refused)
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
         "With this many samples p99 is the slowest but one or the slowest.", "",
         "| backend | B: 100 members, one change (p50 / p99 / max ms) | B: one id 100 times | "
         "A's single writes meanwhile (p50 / p99 / max ms, count) | 30,000 ids refused |",
         "|---|---:|---:|---:|---:|"]
targets = []
for backend in backends:
    big, same, theirs, count, refused = measure(backend)
    fmt = lambda q: " / ".join(f"{x:.2f}" for x in q)  # noqa: E731
    name = "PostgreSQL" if backend == "postgres" else "SQLite"
    lines.append(f"| {name} | {fmt(big)} | {fmt(same)} | {fmt(theirs)}, {count} | {fmt(refused)} |")
    targets.append((f"{name}: another account's single write, p99 under 50 ms", f"{theirs[1]:.2f} ms", theirs[1] < 50))
    targets.append((f"{name}: 30,000 ids refused, p99 under 100 ms", f"{refused[1]:.2f} ms", refused[1] < 100))
lines.append("")
lines.append("| target | figure | met |")
lines.append("|---|---|---|")
for text, figure, ok in targets:
    lines.append(f"| {text} | {figure} | {'yes' if ok else '**no**'} |")
lines.append("")
text = "\n".join(lines)

try:
    with open(out_path) as f:
        current = f.read()
except FileNotFoundError:
    current = "# Benchmarks\n"
heading = "## The largest accepted write"
if heading in current:
    before, rest = current.split(heading, 1)
    after = rest[rest.find("\n## "):] if "\n## " in rest else ""
    current = before.rstrip("\n") + "\n\n" + text.rstrip("\n") + "\n" + after
else:
    current = current.rstrip("\n") + "\n\n" + text
with open(out_path, "w") as f:
    f.write(current)
print(text)

"""The cold path: verification with the cache off, beside what the database
itself answers in the same run.

On each backend, one account with the benchmark's 50 keys (the most one
service account may have, its service account in a group granted `jobs:run`
on project `web`, so that a cold verification reads the grants too) and
BENCH_COLD_KEYS keys in all. Measured, the server on core 0 and the load on
core 1, 32 connections (BENCH_CONNECTIONS):

- `{ __typename }` over GraphQL, and `/v1/verify?permission=jobs:run&project=
  web`, with the 50 keys in turn (so that the verifications in flight at once
  are of as many different keys, as they are when a server misses its cache
  in earnest), by a server started with `--auth-cache-capacity 0`:
  every request reads the database. By this build, and by BENCH_OLD_BIN (an
  earlier build, when given) on the same database, in turns;
- `/healthz`, which reads nothing;
- the database's own point reads: on PostgreSQL `pgbench -S` with as many
  clients; on SQLite a loop of reads of a key by its digest over the same
  index, on one core as the server has.

The ratio is the cold rate over the lesser of the last two.

Usage: cold.py BINARY WORKDIR BENCHMARKS_MD (its section is replaced or added)
Knobs: BENCH_DURATION, BENCH_ROUNDS, BENCH_CONNECTIONS, BENCH_BACKENDS,
BENCH_COLD_KEYS (default 100000), BENCH_OLD_BIN.
"""

import base64
import http.client
import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import time

import benchlib
from benchlib import PG_SERVER as pg_server, Client, fresh_database, replace_section, run, stop, table_head, wrk_report

binary, work, out_path = sys.argv[1:4]
old_binary = os.environ.get("BENCH_OLD_BIN") or None
duration = int(os.environ.get("BENCH_DURATION", "5"))
rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
connections = int(os.environ.get("BENCH_CONNECTIONS", "32"))
backends = os.environ.get("BENCH_BACKENDS", "sqlite postgres").split()
key_count = int(os.environ.get("BENCH_COLD_KEYS", "100000"))
pepper = "a pepper for the benchmark, long enough to be accepted"
port = 18299
here = os.path.dirname(os.path.abspath(__file__))


def gql(token, query, variables=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = json.dumps({"query": query, "variables": variables or {}})
    conn.request("POST", "/graphql", body=body,
                 headers={"content-type": "application/json", "x-api-key": token})
    answer = json.loads(conn.getresponse().read())
    if answer.get("errors"):
        raise RuntimeError(str(answer["errors"]))
    return answer["data"]


def metric(name):
    return int(benchlib.metric(port, name))


def serve(bin_path, common, *extra):
    return benchlib.serve(bin_path, [*common, "--auth-failures-per-minute", "1000000", *extra], port,
                          os.path.join(work, "cold-server.log"))


def wrk(path, keys_file=None, body=None):
    """(requests/s, p50 ms, p99 ms, errors) of one wrk run on core 1, with
    the keys of `keys_file` in turn when it is given."""
    args = ["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency"]
    env = dict(os.environ)
    if keys_file:
        args += ["-s", os.path.join(here, "keys.lua")]
        env.update(KW_KEYS=keys_file, KW_PATH=path, KW_METHOD="POST" if body else "GET",
                   KW_BODY=body or "")
    args.append(f"http://127.0.0.1:{port}{path}")
    out = subprocess.run(args, env=env, capture_output=True, text=True, check=True).stdout
    rps, p50, p99, _, errors = wrk_report(out)
    return rps, p50, p99, errors


def median(runs):
    """The run with the median rate, with the errors of all."""
    ordered = sorted(runs, key=lambda r: r[0])
    rps, p50, p99, _ = ordered[(len(ordered) - 1) // 2]
    return rps, p50, p99, sum(r[3] for r in runs)


def setup(backend):
    """A database with the keys and the filler keys; returns (url, common,
    the file of the keys)."""
    url = fresh_database(backend, work, "cold")
    common = ["--database-url", url, "--pepper", pepper, "--log", "warn"]
    run(binary, "migrate", "--create-database", *common)
    admin = run(binary, "bootstrap", "--account", "Bench", "--admin", "bench", *common).strip()
    server = serve(binary, common)
    try:
        account = gql(admin, "{ me { ... on User { accounts { id } } } }")["me"]["accounts"][0]["id"]
        create = ("mutation($a: ObjectID!, $n: String!) { createServiceAccount(input: "
                  "{accountId: $a, name: $n, roleCode: Editor}) { serviceAccount { id } } }")
        sa = gql(admin, create, {"a": account, "n": "bench"})["createServiceAccount"]["serviceAccount"]["id"]
        keys = [k["secret"] for k in Client(port).keys(admin, sa, 50)]
        run("python3", os.path.join(here, "grant.py"), f"http://127.0.0.1:{port}", admin, account, sa)
        filler = gql(admin, create, {"a": account, "n": "filler"})["createServiceAccount"]["serviceAccount"]["id"]
    finally:
        stop(server)
    # A global id is base64 of "N", the type name's length in three digits,
    # the type name and the number.
    raw = base64.b64decode(filler + "=" * (-len(filler) % 4)).decode()
    filler_id = int(raw[4 + int(raw[1:4]):])
    fill = key_count - len(keys)
    if backend == "sqlite":
        run("sqlite3", os.path.join(work, "cold.db"),
            f"PRAGMA busy_timeout = 30000; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {fill}) "
            f"INSERT INTO service_account_keys (service_account_id, digest, pepper_id, created_at) "
            f"SELECT {filler_id}, randomblob(32), 'filler', 0 FROM n;")
    else:
        run("psql", url, "-qc",
            f"INSERT INTO service_account_keys (service_account_id, digest, pepper_id, created_at) "
            f"SELECT {filler_id}, decode(md5(i::text) || md5((i + 1000000000)::text), 'hex'), 'filler', 0 "
            f"FROM generate_series(1, {fill}) i", "-qc", "ANALYZE")
    # Kept for profiling by hand beside the benchmark.
    keys_file = os.path.join(work, f"cold-keys-{backend}.txt")
    with open(keys_file, "w") as f:
        f.write("\n".join(keys) + "\n")
    return url, common, keys_file


def sqlite_reads(path):
    """Point reads of keys by digest, one after another on core 0, for
    `duration` seconds: reads/s."""
    os.sched_setaffinity(0, {0})
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        digests = [r[0] for r in db.execute(
            "SELECT digest FROM service_account_keys ORDER BY random() LIMIT 10000")]
        query = ("SELECT id, service_account_id, revoked_at, expires_at "
                 "FROM service_account_keys WHERE digest = ?")
        done = 0
        started = time.monotonic()
        deadline = started + duration
        while time.monotonic() < deadline:
            for d in digests[done % len(digests):][:1000]:
                db.execute(query, (d,)).fetchone()
                done += 1
        elapsed = time.monotonic() - started
        db.close()
        return done / elapsed
    finally:
        os.sched_setaffinity(0, {1})


def pgbench_reads():
    """`pgbench -S` with as many clients as wrk has connections: reads/s."""
    db = "kw_bench_pgbench"
    run("psql", f"{pg_server}/postgres", "-qc", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)",
        "-qc", f"CREATE DATABASE {db}")
    run("pgbench", "-i", "-q", "-s", "10", f"{pg_server}/{db}")
    out = run("taskset", "-c", "1", "pgbench", "-S", "-n", "-c", str(connections), "-j", "1",
              "-T", str(duration), f"{pg_server}/{db}")
    return float(re.search(r"tps = ([\d.]+)", out).group(1))


VERIFY = "/v1/verify?permission=jobs:run&project=web"
TYPENAME = '{"query":"{ __typename }"}'


def measure(backend):
    url, common, keys_file = setup(backend)
    builds = [("this build", binary)] + ([("earlier build", old_binary)] if old_binary else [])
    cold = {name: {"graphql": [], "verify": []} for name, _ in builds}
    statements = reads = 0
    for _ in range(rounds):
        for name, bin_path in builds:
            server = serve(bin_path, common, "--auth-cache-capacity", "0")
            try:
                before = (metric("keywarden_verification_statements_total"),
                          metric("keywarden_verification_reads_total"))
                cold[name]["graphql"].append(wrk("/graphql", keys_file, TYPENAME))
                cold[name]["verify"].append(wrk(VERIFY, keys_file))
                if name == "this build":
                    statements += metric("keywarden_verification_statements_total") - before[0]
                    reads += metric("keywarden_verification_reads_total") - before[1]
            finally:
                stop(server)
    server = serve(binary, common)
    try:
        healthz = median([wrk("/healthz") for _ in range(rounds)])
    finally:
        stop(server)
    if backend == "sqlite":
        raw = statistics.median(sqlite_reads(os.path.join(work, "cold.db")) for _ in range(rounds))
        raw_label = "SQLite point reads by digest (one core)"
    else:
        raw = statistics.median(pgbench_reads() for _ in range(rounds))
        raw_label = f"`pgbench -S`, {connections} clients"
    return {
        "cold": {name: {kind: median(runs) for kind, runs in kinds.items()} for name, kinds in cold.items()},
        "healthz": healthz,
        "raw": raw,
        "raw_label": raw_label,
        "statements": statements / max(reads, 1),
    }


def fmt(rps, p50, p99, errors):
    return f"{rps:,.0f}/s, p50 {p50:.2f} ms, p99 {p99:.2f} ms, {errors} errors"


def main():
    os.sched_setaffinity(0, {1})
    results = {backend: measure(backend) for backend in backends}
    lines = [
        "## The cold path",
        "",
        f"`BENCH_PARTS=cold{' BENCH_OLD_BIN=<an earlier release build>' if old_binary else ''} just bench` "
        f"(bench/cold.py): {key_count:,} keys in the database, "
        f"the benchmark's 50 keys of one service account in a group granted a permission on a project, "
        f"each request with the next of them, the cache off "
        f"(`--auth-cache-capacity 0`: every request reads the database), {connections} connections, "
        f"{duration} s runs, the median of {rounds}; the server on core 0, the load on core 1. "
        f"The ratio is the cold rate over the lesser of `/healthz` and the database's own point reads, "
        f"measured in the same run.",
        "",
        *table_head(backends),
    ]

    def row(label, cell):
        lines.append(f"| {label} | " + " | ".join(cell(results[b]) for b in backends) + " |")

    row("cold `{ __typename }` with the keys", lambda r: fmt(*r["cold"]["this build"]["graphql"]))
    row("cold `/v1/verify?permission=jobs:run&project=web`", lambda r: fmt(*r["cold"]["this build"]["verify"]))
    row("statements per credential read (over both kinds: `/v1/verify` adds its project's lookup)",
        lambda r: f"{r['statements']:.2f}")
    if old_binary:
        row("earlier build, cold `{ __typename }`", lambda r: fmt(*r["cold"]["earlier build"]["graphql"]))
        row("earlier build, cold `/v1/verify`", lambda r: fmt(*r["cold"]["earlier build"]["verify"]))
        row("this build over the earlier, `{ __typename }`",
            lambda r: f"{r['cold']['this build']['graphql'][0] / r['cold']['earlier build']['graphql'][0]:.1f}x")
        row("this build over the earlier, `/v1/verify`",
            lambda r: f"{r['cold']['this build']['verify'][0] / r['cold']['earlier build']['verify'][0]:.1f}x")
    row("`/healthz`", lambda r: fmt(*r["healthz"]))
    row("the database's point reads", lambda r: f"{r['raw']:,.0f}/s ({r['raw_label']})")
    row("cold `/v1/verify` over the lesser",
        lambda r: f"{r['cold']['this build']['verify'][0] / min(r['raw'], r['healthz'][0]):.2f}x")
    if old_binary:
        lines += ["", f"The earlier build: `BENCH_OLD_BIN`, a release build of {run(old_binary, '--version').strip()}."]
    replace_section(out_path, "## The cold path", "\n".join(lines) + "\n")
    print("\n".join(lines))


main()

"""The cold path under load: a restart while keys are in use, and a flood of
unknown tokens beside known keys.

On each backend, account A has 100 service accounts with 50 keys each. A
gateway verifies the 5,000 in turn with `GET /v1/verify` from wrk, 32
connections (BENCH_CONNECTIONS), closed loop: it offers as many requests as
the server answers. The server runs on core 0 with its defaults but for
`--trusted-proxies 127.0.0.1`; the load on core 1.

- Restart: a server starts on the database and, once it answers `/healthz`,
  wrk starts at once and runs one second at a time for BENCH_RESTART_SECONDS
  (default 10); then the warm rate on the same server, as the median of five
  one-second runs. Reported:
  each second's rate over the warm rate, the first second from which every
  second is at least 0.9x, the errors, when every key had been read once
  (from /metrics, polled every 20 ms from the first request), and the
  database reads the warm-up took (single-flight makes it one per key).
- Flood: with the keys warm, wrk measures them quiet, then beside a second wrk
  that sends distinct well-formed unknown tokens (`lmr_sa_…` and `lmr_pat_…`
  with good checksums, none stored) at BENCH_FLOOD_RATE a second (default
  20,000), each from a random address in 10.0.0.0/8 as a trusted proxy names
  it; the server's throttle of refused credentials stays at its default.
  The known keys are measured closed loop, and paced at about BENCH_KNOWN_RATE
  a second (default 5,000) as a server with room to spare sees them. Reported:
  the known keys' rate and p99 in each condition, the flood's rate, and the
  database reads a second the flood caused.

Each is measured BENCH_ROUNDS times (default 3); the median is reported.

Usage: flood.py BINARY WORKDIR BENCHMARKS_MD (its section is replaced or added)
Knobs: BENCH_DURATION, BENCH_ROUNDS, BENCH_CONNECTIONS, BENCH_BACKENDS,
BENCH_FLOOD_RATE, BENCH_KNOWN_RATE, BENCH_RESTART_SECONDS.
"""

import os
import secrets
import statistics
import subprocess
import sys
import threading
import time

import benchlib
from benchlib import BASE62, Client, checksum, fresh_database, metric, replace_section, run, stop, table_head, wrk_report

binary, work, out_path = sys.argv[1:4]
duration = int(os.environ.get("BENCH_DURATION", "5"))
rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
connections = int(os.environ.get("BENCH_CONNECTIONS", "32"))
backends = os.environ.get("BENCH_BACKENDS", "sqlite postgres").split()
flood_rate = int(os.environ.get("BENCH_FLOOD_RATE", "20000"))
restart_seconds = int(os.environ.get("BENCH_RESTART_SECONDS", "10"))
known_rate = int(os.environ.get("BENCH_KNOWN_RATE", "5000"))
known_delay_ms = max(1, round(connections * 1000 / known_rate))
pepper = "a pepper for the benchmark, long enough to be accepted"
port = 18399
here = os.path.dirname(os.path.abspath(__file__))
SERVICE_ACCOUNTS = 100
KEYS_EACH = 50
# Each flood connection waits this long between its requests.
FLOOD_DELAY_MS = 5

os.sched_setaffinity(0, {1})


def unknown_tokens(n):
    """`n` distinct tokens of the shape and checksum keywarden issues."""
    out = []
    for i in range(n):
        prefix = f"lmr_sa_{1 + secrets.randbelow(10**6)}_" if i % 2 else "lmr_pat_"
        body = prefix + "".join(secrets.choice(BASE62) for _ in range(32))
        out.append(body + checksum(body))
    return out


def serve(common):
    return benchlib.serve(binary, [*common, "--trusted-proxies", "127.0.0.1"], port,
                          os.path.join(work, "flood-server.log"))


def wrk_args(conns, seconds, lua):
    return ["taskset", "-c", "1", "wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency",
            "-s", os.path.join(here, lua), f"http://127.0.0.1:{port}/v1/verify"]


def known(keys_file, seconds, paced=False):
    """(requests/s, p50 ms, p99 ms, errors) of the known keys for `seconds`:
    closed loop, or paced at about `known_rate` a second."""
    env = {**os.environ, "KW_KEYS": keys_file, "KW_PATH": "/v1/verify",
           "KW_DELAY_MS": str(known_delay_ms if paced else 0)}
    out = subprocess.run(wrk_args(connections, seconds, "keys.lua"), env=env,
                         capture_output=True, text=True, check=True).stdout
    rps, p50, p99, _, errors = wrk_report(out)
    return rps, p50, p99, errors


def setup(backend):
    url = fresh_database(backend, work, "flood")
    common = ["--database-url", url, "--pepper", pepper, "--log", "warn"]
    run(binary, "migrate", "--create-database", *common)
    admin = run(binary, "bootstrap", "--account", "A", "--admin", "alice", *common).strip()
    server = serve(common)
    try:
        client = Client(port)
        account = client.first_account(admin)
        secrets_made = []
        for i in range(SERVICE_ACCOUNTS):
            sa = client.service_account(admin, account, f"gateway-{i}")
            secrets_made += [k["secret"] for k in client.keys(admin, sa, KEYS_EACH)]
    finally:
        stop(server)
    keys_file = os.path.join(work, "flood-keys.txt")
    with open(keys_file, "w") as f:
        f.write("\n".join(secrets_made) + "\n")
    return common, keys_file


class ReadWatch(threading.Thread):
    """Polls the server's reads every 20 ms and notes when they first reach
    `target`, in seconds from its start."""

    def __init__(self, target):
        super().__init__(daemon=True)
        self.target = target
        self.started = time.monotonic()
        self.reached = None
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set() and self.reached is None:
            if metric(port, "keywarden_verification_reads_total") >= self.target:
                self.reached = time.monotonic() - self.started
            time.sleep(0.02)


def restart(common, keys_file):
    """One restart: each second's rate, the warm run, errors and reads, and
    when every key had been read once."""
    server = serve(common)
    try:
        watch = ReadWatch(SERVICE_ACCOUNTS * KEYS_EACH)
        watch.start()
        seconds = [known(keys_file, 1) for _ in range(restart_seconds)]
        watch.done.set()
        watch.join()
        reads = metric(port, "keywarden_verification_reads_total")
        # Measured as the seconds were, one second at a time.
        warm_runs = sorted(known(keys_file, 1) for _ in range(5))
        warm = warm_runs[len(warm_runs) // 2]
    finally:
        stop(server)
    return {
        "seconds": [s[0] for s in seconds],
        "errors": sum(s[3] for s in seconds),
        "reads": reads,
        "warm": warm,
        "all_read": watch.reached,
    }


def recovered_by(result):
    """The first second (counted from 1) from which every second is at least
    0.9x warm, or None."""
    warm = result["warm"][0]
    ok = [rate >= 0.9 * warm for rate in result["seconds"]]
    for i in range(len(ok)):
        if all(ok[i:]):
            return i + 1
    return None


def wait_for_filter():
    for _ in range(200):
        if metric(port, "keywarden_verification_filter_builds_total") >= 1:
            return
        time.sleep(0.05)
    raise RuntimeError("the server built no filter of stored digests")


def flood(common, keys_file, tokens_file):
    """Quiet and flooded runs of the known keys, taking turns."""
    server = serve(common)
    results = {"quiet": [], "flood": [], "quiet paced": [], "flood paced": []}
    try:
        known(keys_file, 2)
        wait_for_filter()
        flood_conns = max(1, flood_rate * FLOOD_DELAY_MS // 1000)
        offset = 0
        for _ in range(rounds):
            for paced in (False, True):
                suffix = " paced" if paced else ""
                reads = metric(port, "keywarden_verification_reads_total")
                quiet = known(keys_file, duration, paced)
                reads = metric(port, "keywarden_verification_reads_total") - reads
                results["quiet" + suffix].append(quiet + (0.0, reads / duration, 0.0))
                env = {**os.environ, "KW_TOKENS": tokens_file, "KW_PATH": "/v1/verify",
                       "KW_DELAY_MS": str(FLOOD_DELAY_MS), "KW_OFFSET": str(offset)}
                offset += flood_rate * (duration + 3)
                reads = metric(port, "keywarden_verification_reads_total")
                unread = metric(port, "keywarden_verification_unknown_unread_total")
                flooder = subprocess.Popen(wrk_args(flood_conns, duration + 2, "flood.lua"), env=env,
                                           stdout=subprocess.PIPE, text=True)
                time.sleep(1)
                measured = known(keys_file, duration, paced)
                flood_rps = wrk_report(flooder.communicate()[0])[0]
                reads = metric(port, "keywarden_verification_reads_total") - reads
                unread = metric(port, "keywarden_verification_unknown_unread_total") - unread
                results["flood" + suffix].append(
                    measured + (flood_rps, reads / (duration + 2), unread / (duration + 2)))
    finally:
        stop(server)
    return results


def median(runs):
    return sorted(runs, key=lambda r: r[0])[(len(runs) - 1) // 2]


def measure(backend):
    common, keys_file = setup(backend)
    restarts = [restart(common, keys_file) for _ in range(rounds)]
    tokens_file = os.path.join(work, "flood-tokens.txt")
    with open(tokens_file, "w") as f:
        f.write("\n".join(unknown_tokens(flood_rate * (duration + 3) * rounds * 2)) + "\n")
    return {"restarts": restarts, "flood": flood(common, keys_file, tokens_file)}


def main():
    results = {backend: measure(backend) for backend in backends}
    lines = [
        "## The cold path under load",
        "",
        f"`BENCH_PARTS=flood just bench` (bench/flood.py): account A's 5,000 keys verified in turn with "
        f"`GET /v1/verify` by wrk, {connections} connections, closed loop (it offers as many requests as "
        f"the server answers); the server on core 0 with its defaults and `--trusted-proxies 127.0.0.1`, "
        f"the load on core 1. {rounds} rounds of each.",
        "",
        f"**Restart**: a server starts and wrk starts as soon as it answers `/healthz`, one-second runs "
        f"for {restart_seconds} s, then the warm rate on the same server (the median of five one-second runs). Each second's "
        f"rate over the warm rate, in every round:",
        "",
        *table_head(backends),
    ]

    def row(label, cell):
        lines.append(f"| {label} | " + " | ".join(cell(results[b]) for b in backends) + " |")

    for i in range(rounds):
        row(f"round {i + 1}, seconds 1 to {restart_seconds}",
            lambda r, i=i: " ".join(f"{s / r['restarts'][i]['warm'][0]:.2f}" for s in r["restarts"][i]["seconds"]))
    row("warm rate (median of the rounds)",
        lambda r: f"{statistics.median(x['warm'][0] for x in r['restarts']):,.0f}/s")
    row("at least 0.9x warm from second (each round)",
        lambda r: ", ".join(str(recovered_by(x) or "never") for x in r["restarts"]))
    row("errors in the first seconds (all rounds)", lambda r: str(sum(x["errors"] for x in r["restarts"])))
    row("every key read once after (each round)",
        lambda r: ", ".join(f"{x['all_read']:.2f} s" if x["all_read"] is not None else "never"
                            for x in r["restarts"]))
    row("database reads over the first seconds (each round)",
        lambda r: ", ".join(f"{x['reads']:,.0f}" for x in r["restarts"]))
    lines += [
        "",
        f"**Flood**: with the keys warm, the known keys quiet, then with a second wrk sending distinct "
        f"well-formed unknown tokens paced at {flood_rate:,}/s offered ({FLOOD_DELAY_MS} ms between "
        f"requests on each of its connections), each from a random address in 10.0.0.0/8 named by "
        f"`X-Forwarded-For`; the throttle of refused credentials at its default (30 a minute an address). "
        f"Both wrk processes share core 1. Median of {rounds}, {duration} s runs:",
        "",
        *table_head(backends),
    ]

    def fmt(r):
        return f"{r[0]:,.0f}/s, p50 {r[1]:.2f} ms, p99 {r[2]:.2f} ms, {r[3]:.0f} errors"

    for suffix, label in (("", "closed loop"), (" paced", f"paced at about {known_rate:,}/s")):
        q = lambda r, suffix=suffix: median(r["flood"]["quiet" + suffix])  # noqa: E731
        f = lambda r, suffix=suffix: median(r["flood"]["flood" + suffix])  # noqa: E731
        row(f"known keys {label}, quiet", lambda r, q=q: fmt(q(r)))
        row(f"known keys {label}, during the flood", lambda r, f=f: fmt(f(r)))
        row(f"{label}: rate during the flood over quiet", lambda r, q=q, f=f: f"{f(r)[0] / q(r)[0]:.2f}x")
        row(f"{label}: p99 during the flood over quiet", lambda r, q=q, f=f: f"{f(r)[2] / q(r)[2]:.2f}x")
        row(f"{label}: flood rate achieved", lambda r, f=f: f"{f(r)[4]:,.0f}/s")
        row(f"{label}: database reads a second, quiet and during the flood",
            lambda r, q=q, f=f: f"{q(r)[5]:,.0f}/s, {f(r)[5]:,.0f}/s")
        row(f"{label}: unknown tokens refused unread a second", lambda r, f=f: f"{f(r)[6]:,.0f}/s")
    lines += ["", f"Measured with {run(binary, '--version').strip()}."]
    replace_section(out_path, "## The cold path under load", "\n".join(lines) + "\n")
    print("\n".join(lines))


main()

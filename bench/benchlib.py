"""What the benchmark scripts share: running a command, waiting for a server,
a GraphQL client, making keys, reading wrk's report and writing a section of
BENCHMARKS.md."""

import http.client
import json
import os
import re
import subprocess
import time
import zlib

PG_SERVER = "postgres://postgres@127.0.0.1:5432"


def run(*args, **kwargs):
    """A command's output; fails when it does."""
    return subprocess.run(args, check=True, capture_output=True, text=True, **kwargs).stdout


def wait_healthy(p):
    """Waits for the server on port `p` to answer `/healthz`."""
    for _ in range(200):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", p, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"the server on port {p} did not start")


def fresh_database(backend, work, name):
    """The URL of an empty database called `name`: a SQLite file in `work`
    (with none of its side files left), or a PostgreSQL database made anew."""
    if backend == "sqlite":
        path = os.path.join(work, f"{name}.db")
        for suffix in ("", "-wal", "-shm", ".changes", ".pepper"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        return f"sqlite://{path}?mode=rwc"
    run("psql", f"{PG_SERVER}/postgres", "-qc", f"DROP DATABASE IF EXISTS kw_bench_{name} WITH (FORCE)",
        "-qc", f"CREATE DATABASE kw_bench_{name}")
    return f"{PG_SERVER}/kw_bench_{name}"


def serve(binary, args, p, log):
    """`binary serve ARGS` on core 0, listening on port `p`, its log appended
    to the file `log`; returns once it answers `/healthz`."""
    server = subprocess.Popen(
        ["taskset", "-c", "0", binary, "serve", *args, "--listen", f"127.0.0.1:{p}"],
        stdout=subprocess.DEVNULL,
        stderr=open(log, "a"),
    )
    try:
        wait_healthy(p)
    except BaseException:
        server.kill()
        raise
    return server


def stop(server):
    server.terminate()
    server.wait()


def table_head(columns):
    """The first two lines of a markdown table with an empty first header."""
    return ["| | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]


class Client:
    """One keep-alive connection to a server's GraphQL endpoint."""

    def __init__(self, base_port):
        self.conn = http.client.HTTPConnection("127.0.0.1", base_port, timeout=30)

    def gql(self, token, query, variables=None):
        body = json.dumps({"query": query, "variables": variables or {}})
        self.conn.request(
            "POST",
            "/graphql",
            body=body,
            headers={"content-type": "application/json", "x-api-key": token},
        )
        response = self.conn.getresponse()
        answer = json.loads(response.read())
        if response.status != 200 or answer.get("errors"):
            raise RuntimeError(f"{response.status}: {answer}")
        return answer["data"]

    def first_account(self, token):
        """The id of the first account the user of `token` belongs to."""
        return self.gql(token, "{ me { ... on User { accounts { id } } } }")["me"]["accounts"][0]["id"]

    def service_account(self, token, account, name):
        """A new Editor service account's id."""
        made = self.gql(
            token,
            "mutation($a: ObjectID!, $n: String!) { createServiceAccount(input: "
            "{accountId: $a, name: $n, roleCode: Editor}) { serviceAccount { id } } }",
            {"a": account, "n": name},
        )
        return made["createServiceAccount"]["serviceAccount"]["id"]

    def keys(self, token, sa, n):
        """`n` new keys of the service account `sa`, as {id, secret}."""
        made = []
        while len(made) < n:
            # A document may hold 30 aliases.
            batch = min(25, n - len(made))
            document = "mutation($s: ObjectID!) { " + " ".join(
                f"k{i}: createServiceAccountKey(input: {{serviceAccountId: $s}}) {{ id secret }}"
                for i in range(batch)
            ) + " }"
            answer = self.gql(token, document, {"s": sa})
            made += [answer[f"k{i}"] for i in range(batch)]
        return made


def metric(p, name):
    """The value of an unlabelled counter or gauge on the server on port `p`."""
    conn = http.client.HTTPConnection("127.0.0.1", p, timeout=10)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    match = re.search(rf"^{name} ([\d.e+]+)", text, re.M)
    return float(match.group(1)) if match else 0.0


def to_ms(text):
    """One of wrk's times ("812.00us", "1.20ms", "2.01s") in milliseconds."""
    number = float(re.match(r"[\d.]+", text).group(0))
    if text.endswith("us"):
        return number / 1000
    if text.endswith("ms"):
        return number
    if text.endswith("s"):
        return number * 1000
    return number


def wrk_report(text):
    """requests/s, p50, p99 and max (ms), and errors, from wrk's --latency report."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1))
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1))
    slowest = to_ms(re.search(r"^\s+Latency\s+\S+\s+\S+\s+(\S+)", text, re.M).group(1))
    errors = 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors += int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        errors += sum(int(g) for g in m.groups())
    return rps, p50, p99, slowest, errors


def replace_section(path, heading, text):
    """Puts `text` (which starts with `heading`) into the markdown file at
    `path` in place of the section under that heading, up to the next heading
    of the same level, or at the end when there is none."""
    try:
        with open(path) as f:
            current = f.read()
    except FileNotFoundError:
        current = "# Benchmarks\n"
    # The heading as a whole line: one heading may begin another.
    line = re.search(rf"^{re.escape(heading)}$", current, re.M)
    if line:
        before, rest = current[:line.start()], current[line.end():]
        after = rest[rest.find("\n## "):] if "\n## " in rest else ""
        current = before.rstrip("\n") + "\n\n" + text.rstrip("\n") + "\n" + after
    else:
        current = current.rstrip("\n") + "\n\n" + text
    with open(path, "w") as f:
        f.write(current)


BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def checksum(body):
    """The six base62 characters a keywarden token ends with: the CRC-32 of
    everything before them (docs/secret-scanning.md)."""
    n = zlib.crc32(body.encode())
    out = []
    for _ in range(6):
        out.append(BASE62[n % 62])
        n //= 62
    return "".join(reversed(out))

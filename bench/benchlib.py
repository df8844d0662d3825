"""What the benchmark scripts share: running a command, waiting for a server,
reading wrk's report and writing a section of BENCHMARKS.md."""

import http.client
import re
import subprocess
import time


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
    if heading in current:
        before, rest = current.split(heading, 1)
        after = rest[rest.find("\n## "):] if "\n## " in rest else ""
        current = before.rstrip("\n") + "\n\n" + text.rstrip("\n") + "\n" + after
    else:
        current = current.rstrip("\n") + "\n\n" + text
    with open(path, "w") as f:
        f.write(current)

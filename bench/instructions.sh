#!/usr/bin/env bash
# Instructions per request, counted by valgrind's callgrind: the same for the
# same binary and inputs whatever else the machine does, so two builds (or two
# settings) compare on a busy machine too. Usage:
#   bench/instructions.sh BINARY [requests] [extra serve flags...]
# Prints, for a key verified through GET /v1/verify (cached after the first),
# the user-space instructions per request with the access log filtered out
# (--log warn) and written (--log info, to a file). Each figure is the
# difference between a run of N requests and a run of none, over N.
set -euo pipefail
bin=$(realpath "$1"); n=${2:-10000}; shift; shift || true
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)"; exit 1; }

count() { # count N LOGLEVEL -> total instructions of a server that answered N checks
  local n=$1 level=$2 dir port pid
  dir=$(mktemp -d)
  local url="sqlite://$dir/k.db?mode=rwc" pepper="a pepper for counting instructions, long enough"
  XDG_DATA_HOME=$dir "$bin" migrate --create-database --database-url "$url" --pepper "$pepper" --log error 2>/dev/null ||
    XDG_DATA_HOME=$dir "$bin" migrate --database-url "$url" --pepper "$pepper" --log error
  local token
  token=$(XDG_DATA_HOME=$dir "$bin" bootstrap --account A --admin a --database-url "$url" --pepper "$pepper" --log error)
  port=$((20000 + RANDOM % 20000))
  XDG_DATA_HOME=$dir valgrind --tool=callgrind --callgrind-out-file="$dir/out" "$bin" serve \
    --listen "127.0.0.1:$port" --database-url "$url" --pepper "$pepper" --log "$level" \
    --usage-flush-interval 3600 --auth-failures-per-minute 1000000 "${extra[@]}" >/dev/null 2>"$dir/log" &
  pid=$!
  python3 - "$port" "$token" "$n" <<'PY'
import http.client, sys, time
port, token, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
for _ in range(600):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        c.request("GET", "/healthz"); c.getresponse().read(); break
    except OSError:
        time.sleep(0.5)
for _ in range(n):
    c.request("GET", "/v1/verify", headers={"x-api-key": token})
    r = c.getresponse(); r.read()
    assert r.status == 200, r.status
PY
  kill -TERM "$pid"; wait "$pid" || true
  awk '/^summary:/ { print $2 }' "$dir/out"
  rm -rf "$dir"
}

extra=("$@")
for level in warn info; do
  none=$(count 0 "$level")
  some=$(count "$n" "$level")
  echo "--log $level: $(( (some - none) / n )) instructions per cached GET /v1/verify ($n requests)"
done

#!/usr/bin/env bash
# Instructions per request, counted by valgrind's callgrind: the same for the
# same binary and inputs whatever else the machine does, so two builds (or two
# settings) compare on a busy machine too. Usage:
#   bench/instructions.sh BINARY [requests] [extra serve flags...]
# Prints, for a service account key verified through GET /v1/verify (cached
# after the first), the user-space instructions per request with the access log
# filtered out (--log warn) and written (--log info, to a file), and, with the
# log filtered out, for the same key asked whether it holds jobs:run on project
# web (granted through a group, bench/grant.py). Each figure is the difference
# between a run of N requests and a run of none, over N.
set -euo pipefail
bin=$(realpath "$1"); n=${2:-10000}; shift; shift || true
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)"; exit 1; }

count() { # count N LOGLEVEL PATH -> total instructions of a server that answered N checks
  local n=$1 level=$2 path=$3 dir port pid
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
  python3 - "$port" "$token" "$n" "$path" "$(dirname "$0")" <<'PY'
import http.client, json, subprocess, sys, time
port, token, n, path, bench = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
for _ in range(600):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        c.request("GET", "/healthz"); c.getresponse().read(); break
    except OSError:
        time.sleep(0.5)
def gql(query):
    c.request("POST", "/graphql", body=json.dumps({"query": query}),
              headers={"x-api-key": token, "content-type": "application/json"})
    return json.loads(c.getresponse().read())["data"]
account = gql("{ me { ... on User { accounts { id } } } }")["me"]["accounts"][0]["id"]
sa = gql('mutation { createServiceAccount(input: { accountId: "%s", name: "ci", roleCode: Viewer }) '
         '{ serviceAccount { id } } }' % account)["createServiceAccount"]["serviceAccount"]["id"]
key = gql('mutation { createServiceAccountKey(input: { serviceAccountId: "%s" }) { secret } }' % sa)[
    "createServiceAccountKey"]["secret"]
subprocess.run([sys.executable, f"{bench}/grant.py", f"http://127.0.0.1:{port}", token, account, sa], check=True)
for _ in range(n):
    c.request("GET", path, headers={"x-api-key": key})
    r = c.getresponse(); r.read()
    assert r.status == 200, r.status
PY
  kill -TERM "$pid"; wait "$pid" || true
  awk '/^summary:/ { print $2 }' "$dir/out"
  rm -rf "$dir"
}

extra=("$@")
for level in warn info; do
  none=$(count 0 "$level" /v1/verify)
  some=$(count "$n" "$level" /v1/verify)
  echo "--log $level: $(( (some - none) / n )) instructions per cached GET /v1/verify ($n requests)"
done
question="/v1/verify?permission=jobs:run&project=web"
none=$(count 0 warn "$question")
some=$(count "$n" warn "$question")
echo "--log warn: $(( (some - none) / n )) instructions per cached GET $question ($n requests)"

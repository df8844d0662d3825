#!/usr/bin/env bash
# keywarden's benchmark: the release server pinned to core 0, wrk on core 1, on
# SQLite and PostgreSQL, with 100 and 1,000,000 keys in the database. Writes
# BENCHMARKS.md. Needs wrk (installed with apt if missing) and, for PostgreSQL, a
# server on 127.0.0.1:5432 (user postgres, trust), as the test suites do.
#
# Each kind of request is measured BENCH_ROUNDS times, the kinds taking turns,
# and the run with the median rate is reported (its latencies with it; errors
# are those of every run), so that a drift in the machine's speed during a
# configuration falls on every kind alike and the ratios compare like with like.
#
# Then the mixed workload (bench/mixed.py): account A's 5,000 keys verified while
# account B churns service accounts or A rotates keys; it adds its own section.
#
# Knobs: BENCH_DURATION (seconds per run, default 5), BENCH_ROUNDS (default 3),
# BENCH_CONNECTIONS (default 32), BENCH_KEYS (default "100 1000000"),
# BENCH_BACKENDS (default "sqlite postgres"), BENCH_PARTS (default "single mixed
# largest cold flood leaks ranges": "mixed", "largest", "cold", "flood", "leaks" or "ranges" alone
# keeps the rest of BENCHMARKS.md and replaces its own section), BENCH_OLD_BIN.
#
# Then the largest accepted write (bench/largest.py): one addGroupMembers naming
# the most members a change may, timed while another account writes.
#
# Then the cold path (bench/cold.py): verification with the cache off beside
# /healthz and the database's own point reads (pgbench -S; a SQLite read loop),
# and beside an earlier build on the same database when BENCH_OLD_BIN names one.
#
# Then the cold path under load (bench/flood.py): a restart while 5,000 keys are
# in use, and a flood of distinct unknown tokens from many addresses beside them.
#
# Then verification while leaks are reported (bench/leaks.py): holders' reports
# at 100 a second, one in ten revoking a live key of another account.
#
# And keys with address ranges (bench/ranges.py): keys with 20 ranges, and with
# 20 on the key, its service account and its account, beside keys with none.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${BENCH_DURATION:-5}
rounds=${BENCH_ROUNDS:-3}
connections=${BENCH_CONNECTIONS:-32}
key_counts=${BENCH_KEYS:-"100 1000000"}
backends=${BENCH_BACKENDS:-"sqlite postgres"}
parts=${BENCH_PARTS:-"single mixed largest cold flood leaks ranges"}
pg_server="postgres://postgres@127.0.0.1:5432"
pepper="a pepper for the benchmark, long enough to be accepted"
port=18099

if ! command -v wrk >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
cargo build --release --locked -p keywarden
bin=target/release/keywarden
work=$(mktemp -d)
server_pid=""
second_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  if [ -n "$second_pid" ]; then kill "$second_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

gql() { # token, JSON body
  curl -sf "http://127.0.0.1:$port/graphql" -H 'content-type: application/json' -H "x-api-key: $1" --data "$2"
}
json_field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval('d' + sys.argv[1]))" "$1"; }
wait_healthy() { # port
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$1/healthz" >/dev/null && return 0; sleep 0.1; done
  echo "the server on port $1 did not start" >&2; return 1
}
kib() { awk '/^'"$2"':/ { print $2 }' "/proc/$1/status"; }

# One wrk run; prints "rps p50 p99 errors".
measure() { # wrk's target arguments
  local out
  out=$(taskset -c 1 wrk -t1 -c"$connections" -d"${duration}s" --latency "$@" 2>&1)
  local rps p50 p99 errors
  rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
  p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
  p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
  errors=$(awk '/Non-2xx or 3xx responses:/ { n += $5 } /Socket errors:/ { gsub(",", ""); n += $4 + $6 + $8 + $10 } END { print n + 0 }' <<<"$out")
  echo "$rps $p50 $p99 $errors"
}

# Of several "rps p50 p99 errors" lines: the one with the median rate, with the
# errors of all of them.
median_run() {
  local errors middle rps p50 p99 ignored
  errors=$(awk '{ n += $4 } END { print n + 0 }' <<<"$1")
  middle=$(sort -g -k1,1 <<<"$1" | sed -n "$(( (rounds + 1) / 2 ))p")
  read -r rps p50 p99 ignored <<<"$middle"
  echo "$rps $p50 $p99 $errors"
}

results="$work/results"
: > "$results"
single_backends=$backends
[[ " $parts " == *" single "* ]] || single_backends=""
for backend in $single_backends; do
  for keys in $key_counts; do
    case "$backend" in
      sqlite) url="sqlite://$work/bench-$keys.db?mode=rwc" ;;
      postgres)
        db="kw_bench_$keys"
        psql "$pg_server/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -qc "CREATE DATABASE $db"
        url="$pg_server/$db"
        ;;
    esac
    common=(--database-url "$url" --pepper "$pepper" --log warn)
    "$bin" migrate --create-database "${common[@]}"
    admin=$("$bin" bootstrap --account Bench --admin bench "${common[@]}")
    taskset -c 0 "$bin" serve "${common[@]}" --listen "127.0.0.1:$port" \
      --auth-failures-per-minute 1000000 --usage-flush-interval 1 2>"$work/server.log" &
    server_pid=$!
    wait_healthy "$port"

    account=$(gql "$admin" '{"query":"{ me { ... on User { accounts { id } } } }"}' | json_field '["data"]["me"]["accounts"][0]["id"]')
    create_sa() {
      gql "$admin" "{\"query\":\"mutation { createServiceAccount(input: {accountId: \\\"$account\\\", name: \\\"$1\\\", roleCode: Editor}) { serviceAccount { id } } }\"}" \
        | json_field '["data"]["createServiceAccount"]["serviceAccount"]["id"]'
    }
    sa=$(create_sa bench)
    key=$(gql "$admin" "{\"query\":\"mutation { createServiceAccountKey(input: {serviceAccountId: \\\"$sa\\\"}) { secret } }\"}" \
      | json_field '["data"]["createServiceAccountKey"]["secret"]')
    # The key's service account may run jobs in project "web", through a group.
    python3 bench/grant.py "http://127.0.0.1:$port" "$admin" "$account" "$sa"
    # The other keys: digests of no known secret, on a service account of their own.
    filler=$(python3 -c "import base64,sys; print(base64.b64decode(sys.argv[1] + '=' * (-len(sys.argv[1]) % 4)).decode()[18:])" "$(create_sa filler)")
    fill=$((keys - 1))
    seed_started=$(date +%s)
    case "$backend" in
      sqlite)
        sqlite3 "$work/bench-$keys.db" "PRAGMA busy_timeout = 30000; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $fill)
          INSERT INTO service_account_keys (service_account_id, digest, pepper_id, created_at) SELECT $filler, randomblob(32), 'filler', 0 FROM n;" >/dev/null
        ;;
      postgres)
        psql "$url" -qc "INSERT INTO service_account_keys (service_account_id, digest, pepper_id, created_at)
          SELECT $filler, decode(md5(i::text) || md5((i + 1000000000)::text), 'hex'), 'filler', 0 FROM generate_series(1, $fill) i" -qc "ANALYZE"
        ;;
    esac
    seeded=$(( $(date +%s) - seed_started ))
    sleep 1
    idle_kib=$(kib "$server_pid" VmRSS)

    writes_metric() { curl -sf "http://127.0.0.1:$port/metrics" | awk '/^keywarden_last_used_writes_total/ { print $2 }'; }
    sleep 1.5 # the set-up's own lastUsedAt writes land before the count starts
    writes_before=$(writes_metric)
    typename='{"query":"{ __typename }"}'
    me='{"query":"{ me { id name } }"}'
    h_runs="" a_runs="" k_runs="" m_runs="" v_runs="" p_runs=""
    for _ in $(seq 1 "$rounds"); do
      h_runs+="$(measure "http://127.0.0.1:$port/healthz")"$'\n'
      a_runs+="$(KW_BODY="$typename" KW_KEY="" measure -s bench/post.lua "http://127.0.0.1:$port/graphql")"$'\n'
      k_runs+="$(KW_BODY="$typename" KW_KEY="$key" measure -s bench/post.lua "http://127.0.0.1:$port/graphql")"$'\n'
      m_runs+="$(KW_BODY="$me" KW_KEY="$key" measure -s bench/post.lua "http://127.0.0.1:$port/graphql")"$'\n'
      v_runs+="$(measure -H "x-api-key: $key" "http://127.0.0.1:$port/v1/verify")"$'\n'
      p_runs+="$(measure -H "x-api-key: $key" "http://127.0.0.1:$port/v1/verify?permission=jobs:run&project=web")"$'\n'
    done
    read -r h_rps h_p50 h_p99 h_err < <(median_run "${h_runs%$'\n'}")
    read -r a_rps a_p50 a_p99 a_err < <(median_run "${a_runs%$'\n'}")
    read -r k_rps k_p50 k_p99 k_err < <(median_run "${k_runs%$'\n'}")
    read -r m_rps m_p50 m_p99 m_err < <(median_run "${m_runs%$'\n'}")
    read -r v_rps v_p50 v_p99 v_err < <(median_run "${v_runs%$'\n'}")
    read -r p_rps p_p50 p_p99 p_err < <(median_run "${p_runs%$'\n'}")
    peak_kib=$(kib "$server_pid" VmHWM)
    sleep 1.5 # the last lastUsedAt flush of the runs
    writes_after=$(writes_metric)
    writes=$(( ${writes_after:-0} - ${writes_before:-0} ))

    # A second server on the same database: a revoke through the first must be
    # refused by the second on its next request, every time.
    second=$((port + 1))
    taskset -c 0 "$bin" serve "${common[@]}" --listen "127.0.0.1:$second" \
      --auth-failures-per-minute 1000000 2>"$work/second.log" &
    second_pid=$!
    wait_healthy "$second"
    read -r stale rv_p50 rv_p99 rv_max < <(python3 bench/revocation.py "$admin" "$sa" \
      "http://127.0.0.1:$port" "http://127.0.0.1:$second" 50)
    kill "$second_pid"; wait "$second_pid" 2>/dev/null || true
    # The key check with the verification cache off: every request reads the database.
    taskset -c 0 "$bin" serve "${common[@]}" --listen "127.0.0.1:$second" \
      --auth-failures-per-minute 1000000 --auth-cache-capacity 0 2>>"$work/second.log" &
    second_pid=$!
    wait_healthy "$second"
    read -r u_rps u_p50 u_p99 u_err < <(KW_BODY="$typename" KW_KEY="$key" measure -s bench/post.lua "http://127.0.0.1:$second/graphql")
    kill "$second_pid"; wait "$second_pid" 2>/dev/null || true; second_pid=""
    kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""

    printf '%s %s %s %s %s %s %s  %s %s %s %s  %s %s %s %s  %s %s %s %s  %s %s %s %s  %s %s %s %s  %s %s %s %s  %s %s %s %s  %s %s %s %s\n' \
      "$backend" "$keys" "$seeded" "$idle_kib" "$peak_kib" "${writes:-0}" "-" \
      "$h_rps" "$h_p50" "$h_p99" "$h_err" "$a_rps" "$a_p50" "$a_p99" "$a_err" \
      "$k_rps" "$k_p50" "$k_p99" "$k_err" "$m_rps" "$m_p50" "$m_p99" "$m_err" \
      "$stale" "$rv_p50" "$rv_p99" "$rv_max" "$u_rps" "$u_p50" "$u_p99" "$u_err" \
      "$v_rps" "$v_p50" "$v_p99" "$v_err" "$p_rps" "$p_p50" "$p_p99" "$p_err" >> "$results"
    echo "done: $backend with $keys keys"
  done
done

if [[ " $parts " == *" single "* ]]; then
  # The instruction counts (bench/instructions.sh) are written by hand: kept.
  counted=$(awk '/^## Instructions per request/ { keep = 1 } keep' BENCHMARKS.md 2>/dev/null || true)
  python3 bench/report.py "$results" "$duration" "$connections" "$rounds" > BENCHMARKS.md
  if [ -n "$counted" ]; then printf '\n%s\n' "$counted" >> BENCHMARKS.md; fi
fi
if [[ " $parts " == *" mixed "* ]]; then
  python3 bench/mixed.py "$bin" "$work" BENCHMARKS.md >/dev/null
fi
if [[ " $parts " == *" largest "* ]]; then
  python3 bench/largest.py "$bin" "$work" BENCHMARKS.md >/dev/null
fi
if [[ " $parts " == *" cold "* ]]; then
  python3 bench/cold.py "$bin" "$work" BENCHMARKS.md >/dev/null
fi
if [[ " $parts " == *" flood "* ]]; then
  python3 bench/flood.py "$bin" "$work" BENCHMARKS.md >/dev/null
fi
if [[ " $parts " == *" leaks "* ]]; then
  python3 bench/leaks.py "$bin" "$work" BENCHMARKS.md >/dev/null
fi
if [[ " $parts " == *" ranges "* ]]; then
  python3 bench/ranges.py "$bin" "$work" BENCHMARKS.md >/dev/null
fi
cat BENCHMARKS.md

#!/usr/bin/env bash
# Benchmarks of BENCHMARKS.md in one command, on a quiet machine:
#
#   scripts/bench.sh                 everything (about 5 minutes)
#   BENCH_SECONDS=10 scripts/bench.sh   shorter load phases
#
# Starts its own redis-server on a free loopback port (no persistence),
# builds the gateway and the load tool (or uses GATEWAY_BIN/LOADTEST_BIN),
# and runs, each on a flushed Redis and a fresh gateway:
#   1. as fast as 64 connections allow: the ingest floor, the end-to-end
#      floor, then the gateway (ratios of the same run)
#   2. end to end at a fixed rate (BENCH_E2E_RATE, default 3000/s)
#   3. claims: 10,000 waiting conversations, 100 agents, three rounds (the
#      verdict is on the median rate: one round lasts about two seconds)
#   4. memory: Redis used_memory per waiting conversation at 100,000
#   5. inbox: pages of 50 out of 100,000 conversations, 50 listers; read/typing at 1,000/s
#   6. event streams: Redis connections with 1,000 streams open
# and ends with a table of every target: measured, met or not (the
# "target:" lines of the load tool's reports).
# Run it with GOMAXPROCS unset on the 2-core reference machine; the load
# tool runs on the same machine, as the targets require.
set -uo pipefail
cd "$(dirname "$0")/.."
WORK=$(mktemp -d)
SECS=${BENCH_SECONDS:-30}
E2E_RATE=${BENCH_E2E_RATE:-3000}
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$WORK"' EXIT

source scripts/ports.sh
GW=${GATEWAY_BIN:-}; LT=${LOADTEST_BIN:-}
if [[ -z $GW ]]; then GW=$WORK/gateway; go build -o "$GW" ./cmd/gateway || exit 2; fi
if [[ -z $LT ]]; then LT=$WORK/loadtest; go build -o "$LT" ./cmd/loadtest || exit 2; fi

RP=$(freeport); GP=$(freeport); HP=$(freeport)
redis-server --port "$RP" --bind 127.0.0.1 --save "" --appendonly no --dir "$WORK" --loglevel warning >"$WORK/redis.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do redis-cli -p "$RP" ping >/dev/null 2>&1 && break; sleep 0.05; done
"$LT" config --redis "redis://127.0.0.1:$RP/0" --listen "127.0.0.1:$HP" --graph "127.0.0.1:$GP" >"$WORK/lt.yaml"

fresh_gateway() {
	[[ -n ${GWPID:-} ]] && { kill "$GWPID"; wait "$GWPID" 2>/dev/null; }
	redis-cli -p "$RP" flushall >/dev/null
	"$GW" serve --config "$WORK/lt.yaml" 2>>"$WORK/gateway.log" &
	GWPID=$!
	PIDS+=($GWPID)
	for _ in $(seq 1 200); do curl -fs "http://127.0.0.1:$HP/readyz" >/dev/null && return; sleep 0.05; done
	echo "gateway did not start" >&2; tail "$WORK/gateway.log" >&2; exit 2
}

echo "# $(date -u +%FT%TZ) $(nproc) cores, $(go version | cut -d' ' -f3), $(redis-server --version | cut -d' ' -f3)"
rc=0
fresh_gateway
OUT=$WORK/out.txt
echo "## 1. as fast as possible: ingest floor, end-to-end floor, gateway"
"$LT" run --config "$WORK/lt.yaml" --floor --users 10000 --concurrency 64 --duration "${SECS}s" --drain 120s --pid "$GWPID" 2>/dev/null | tee -a "$OUT" || rc=1
fresh_gateway
echo "## 2. end to end at ${E2E_RATE}/s"
"$LT" run --config "$WORK/lt.yaml" --users 10000 --rate "$E2E_RATE" --concurrency 256 --duration "${SECS}s" --drain 120s --pid "$GWPID" 2>/dev/null | tee -a "$OUT" || rc=1
fresh_gateway
echo "## 3. claims"
"$LT" claims --config "$WORK/lt.yaml" --conversations 10000 --agents 100 --rounds 3 2>/dev/null | tee -a "$OUT" || rc=1
fresh_gateway
echo "## 4. memory"
"$LT" memory --config "$WORK/lt.yaml" --conversations 100000 --timeout 10m 2>/dev/null | tee -a "$OUT" || rc=1
fresh_gateway
echo "## 5. inbox"
"$LT" inbox --config "$WORK/lt.yaml" --conversations 100000 --listers 50 --duration "${SECS}s" 2>/dev/null | tee -a "$OUT" || rc=1
fresh_gateway
echo "## 6. event streams"
"$LT" streams --config "$WORK/lt.yaml" --streams 1000 2>/dev/null | tee -a "$OUT" || rc=1

echo
echo "## targets"
{
	echo "target | measured | bound | standing"
	echo "--- | --- | --- | ---"
	sed -n 's/^target: //p' "$OUT"
} | column -t -s '|' -o '|'
exit $rc

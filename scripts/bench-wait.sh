#!/usr/bin/env bash
# What redis.wait_replicas: 1 costs: one gateway on a Redis Cluster (or a
# Sentinel set) at 300 webhooks/s for 10 s, with wait_replicas 0 then 1,
# twice in alternation on the same Redis, so that the figures compare
# within one run (BENCHMARKS.md).
#
#   scripts/bench-wait.sh [cluster|sentinel]     (about a minute)
set -uo pipefail
cd "$(dirname "$0")/.."
KIND=${1:-cluster}
[[ $KIND == cluster || $KIND == sentinel ]] || { echo "usage: $0 [cluster|sentinel]" >&2; exit 2; }
WORK=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; bash scripts/redis-$KIND.sh stop "$WORK/redis"; wait 2>/dev/null; rm -rf "$WORK"' EXIT

source scripts/ports.sh
source scripts/ha-config.sh
GW=${GATEWAY_BIN:-}; LT=${LOADTEST_BIN:-}
if [[ -z $GW ]]; then GW=$WORK/gateway; go build -o "$GW" ./cmd/gateway || exit 2; fi
if [[ -z $LT ]]; then LT=$WORK/loadtest; go build -o "$LT" ./cmd/loadtest || exit 2; fi
bash "scripts/redis-$KIND.sh" start "$WORK/redis" >"$WORK/redis.yaml" || exit 2
GRAPH_PORT=$(freeport)
for wait in 0 1 0 1; do
	bash "scripts/redis-$KIND.sh" flush "$WORK/redis"
	port=$(freeport)
	ha_config "$port" "$GRAPH_PORT" "$wait" >"$WORK/gw.yaml"
	"$GW" serve --config "$WORK/gw.yaml" 2>>"$WORK/gw.log" &
	gw=$!; PIDS+=("$gw")
	for _ in $(seq 1 200); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.05; done
	echo "== wait_replicas $wait"
	"$LT" run --config "$WORK/gw.yaml" --target "http://127.0.0.1:$port" --users 300 --rate 300 --duration 10s \
		--concurrency 32 --drain 60s --settle 1s 2>/dev/null | grep -E '^(load|accept latency|end to end|exactly once)'
	kill "$gw"; wait "$gw" 2>/dev/null
done

#!/usr/bin/env bash
# Scaling out on a Redis Cluster, in one run: ingest (as fast as 64
# connections allow) and end to end (at BENCH_E2E_RATE/s, default 1000)
# with one, two and three gateway processes behind the load tool's target
# list, on one Redis Cluster of three masters with one replica each, and
# each figure's ratio to one gateway's.
#
#   scripts/bench-cluster.sh          (about 3 minutes)
#   BENCH_SECONDS=20 scripts/bench-cluster.sh
#
# Everything runs on this machine: on a small one the gateways, the six
# redis-servers and the load tool share its cores, so the ratios show what
# the cores allow, not what more machines would (BENCHMARKS.md).
set -uo pipefail
cd "$(dirname "$0")/.."
WORK=$(mktemp -d)
SECS=${BENCH_SECONDS:-15}
E2E_RATE=${BENCH_E2E_RATE:-1000}
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; bash scripts/redis-cluster.sh stop "$WORK/redis"; wait 2>/dev/null; rm -rf "$WORK"' EXIT

source scripts/ports.sh
source scripts/ha-config.sh
GW=${GATEWAY_BIN:-}; LT=${LOADTEST_BIN:-}
if [[ -z $GW ]]; then GW=$WORK/gateway; go build -o "$GW" ./cmd/gateway || exit 2; fi
if [[ -z $LT ]]; then LT=$WORK/loadtest; go build -o "$LT" ./cmd/loadtest || exit 2; fi
bash scripts/redis-cluster.sh start "$WORK/redis" >"$WORK/redis.yaml" || exit 2
GRAPH_PORT=$(freeport)
PORTS=("$(freeport)" "$(freeport)" "$(freeport)")
for i in 0 1 2; do ha_config "${PORTS[$i]}" "$GRAPH_PORT" 0 >"$WORK/gw$i.yaml"; done

GWPIDS=()
gateways() { # gateways N: N fresh gateways on a flushed cluster; sets TARGETS
	for p in "${GWPIDS[@]}"; do kill "$p"; wait "$p" 2>/dev/null; done
	GWPIDS=()
	bash scripts/redis-cluster.sh flush "$WORK/redis"
	TARGETS=
	for i in $(seq 0 $(($1 - 1))); do
		"$GW" serve --config "$WORK/gw$i.yaml" 2>>"$WORK/gw$i.log" &
		GWPIDS+=($!); PIDS+=($!)
		for _ in $(seq 1 200); do curl -fs "http://127.0.0.1:${PORTS[$i]}/readyz" >/dev/null && break; sleep 0.05; done
		TARGETS+=${TARGETS:+,}http://127.0.0.1:${PORTS[$i]}
	done
}

# redis_cpu ROLE: the CPU seconds (user + system) the cluster's nodes of
# ROLE (master or slave) have used so far.
redis_cpu() {
	while read -r a; do
		redis-cli -u "redis://$a" info 2>/dev/null | tr -d '\r' |
			awk -v want="$1" -F: '$1=="role"{r=$2} $1=="used_cpu_user"||$1=="used_cpu_sys"{c+=$2} END{if (r==want) print c; else print 0}'
	done <"$WORK/redis/nodes" | awk '{s+=$1} END{printf "%.3f", s}'
}

echo "# $(date -u +%FT%TZ) $(nproc) cores, $(go version | cut -d' ' -f3), $(redis-server --version | cut -d' ' -f3), Redis Cluster 3 masters + 3 replicas (appendonly everysec)"
rc=0
declare -A INGEST E2E
for n in 1 2 3; do
	gateways "$n"
	echo "## ingest, $n gateway(s)"
	"$LT" run --config "$WORK/gw0.yaml" --target "$TARGETS" --users 10000 --concurrency 64 --duration "${SECS}s" --drain 120s \
		2>/dev/null | tee "$WORK/ingest$n.out" || rc=1
	INGEST[$n]=$(awk '/^load:/ {for (i = 1; i <= NF; i++) if ($i ~ /answered/) {v = $(i - 1); sub("/s", "", v); print v}}' "$WORK/ingest$n.out")
	gateways "$n"
	echo "## end to end at ${E2E_RATE}/s, $n gateway(s)"
	m0=$(redis_cpu master) r0=$(redis_cpu slave)
	"$LT" run --config "$WORK/gw0.yaml" --target "$TARGETS" --users 10000 --rate "$E2E_RATE" --concurrency 256 --duration "${SECS}s" --drain 120s \
		2>/dev/null | tee "$WORK/e2e$n.out" || rc=1
	msgs=$(awk '/^replies at the fake Graph API:/ {print $7}' "$WORK/e2e$n.out")
	awk -v m="$(redis_cpu master)" -v m0="$m0" -v r="$(redis_cpu slave)" -v r0="$r0" -v n="$msgs" \
		'BEGIN{if (n > 0) printf "Redis CPU per message: %.3f ms on the masters, %.3f ms on the replicas (%d messages)\n", (m - m0) * 1000 / n, (r - r0) * 1000 / n, n}'
	E2E[$n]=$(awk '/^end to end/ {for (i = 1; i <= NF; i++) if ($i ~ /^p50=/) {v = $i; sub("p50=", "", v); print v}}' "$WORK/e2e$n.out")
done
echo "## ratios to one gateway"
for n in 1 2 3; do
	printf 'gateways=%d ingest=%s/s (x%s) end-to-end p50=%s\n' "$n" "${INGEST[$n]}" \
		"$(awk -v a="${INGEST[$n]}" -v b="${INGEST[1]}" 'BEGIN{if (b > 0) printf "%.2f", a / b; else print "?"}')" "${E2E[$n]}"
done
exit $rc

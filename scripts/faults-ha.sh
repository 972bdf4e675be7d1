#!/usr/bin/env bash
# Fault suite on a Redis Cluster or a Sentinel set: the gateway under load
# while a Redis master is replaced, checked by the load tool's exactly-once
# verdict (every delivery answered 200 yields exactly one reply; what was
# not answered 200 is replayed, as Meta does).
#
#   scripts/faults-ha.sh cluster            every scenario on a Redis Cluster
#   scripts/faults-ha.sh sentinel           every scenario on a Sentinel set
#   scripts/faults-ha.sh cluster failover   one scenario
#
# Scenarios:
#   failover  redis.wait_replicas: 1; mid-load a master is replaced (Cluster:
#             CLUSTER FAILOVER on its replica, then the old master killed;
#             Sentinel: the master killed), then the old one comes back as a
#             replica: nothing answered 200 is lost, nothing answered twice.
#   nowait    the same without wait_replicas: the loss is measured and
#             reported, not judged (replication is asynchronous).
#   three     (Cluster only) three gateway processes behind the load tool's
#             target list: exactly once, then 100 agents claim through the
#             three (no conversation claimed twice).
#
# It uses the built binaries (GATEWAY_BIN and LOADTEST_BIN, else it builds
# them) and scripts/redis-cluster.sh or scripts/redis-sentinel.sh on free
# loopback ports in a temporary directory; it exits non-zero on a violation.
# Knobs: FAULT_RATE (webhooks/s, default 300), FAULT_SECONDS (load length, 10).
set -uo pipefail

cd "$(dirname "$0")/.."
KIND=${1:-}
[[ $KIND == cluster || $KIND == sentinel ]] || { echo "usage: $0 cluster|sentinel [failover|nowait|three]..." >&2; exit 2; }
shift
WORK=$(mktemp -d)
RATE=${FAULT_RATE:-300}
SECS=${FAULT_SECONDS:-10}
PIDS=()
declare -A RESULT
FAILED=0
REDIS_SH=scripts/redis-$KIND.sh

cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	bash "$REDIS_SH" stop "$WORK/redis" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

log() { printf '\n### %s\n' "$*" >&2; }

source scripts/ports.sh
source scripts/ha-config.sh

GW=${GATEWAY_BIN:-}
LT=${LOADTEST_BIN:-}
if [[ -z $GW ]]; then GW=$WORK/gateway; go build -o "$GW" ./cmd/gateway || exit 2; fi
if [[ -z $LT ]]; then LT=$WORK/loadtest; go build -o "$LT" ./cmd/loadtest || exit 2; fi

bash "$REDIS_SH" start "$WORK/redis" >"$WORK/redis.yaml" || exit 2
GRAPH_PORT=$(freeport)

# start_gateway NAME PORT WAIT: a gateway on PORT whose redis section is the
# cluster's or Sentinels', with wait_replicas WAIT; sets GW_PID.
start_gateway() {
	local name=$1 port=$2 wait=$3
	[[ -f $WORK/$name.yaml ]] || ha_config "$port" "$GRAPH_PORT" "$wait" >"$WORK/$name.yaml"
	"$GW" serve --config "$WORK/$name.yaml" >>"$WORK/$name.log" 2>&1 &
	GW_PID=$!
	PIDS+=("$GW_PID")
	for _ in $(seq 1 200); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && return; sleep 0.05; done
	echo "gateway $name did not become ready; log:" >&2
	tail -20 "$WORK/$name.log" >&2
	exit 2
}

verdict() { # verdict NAME RC WHY
	if [[ $2 -eq 0 ]]; then RESULT[$1]=pass; else RESULT[$1]="FAIL ($3)"; FAILED=1; fi
}

load() { # load TARGETS LOGNAME
	"$LT" run --config "$WORK/a.yaml" --target "$1" --users 300 --rate "$RATE" --duration "${SECS}s" \
		--concurrency 32 --replay 90s --drain 200s --settle 3s >"$WORK/$2.out" 2>"$WORK/$2.progress"
}

failover_under_load() { # failover_under_load NAME WAIT: prints the load report; returns the load's status
	local name=$1 wait=$2 port
	bash "$REDIS_SH" flush "$WORK/redis"
	port=$(freeport)
	rm -f "$WORK/a.yaml"
	start_gateway a "$port" "$wait"
	load "http://127.0.0.1:$port" "$name" &
	local lt=$!
	sleep $((SECS / 3))
	bash "$REDIS_SH" failover "$WORK/redis"
	wait "$lt"
	local rc=$?
	cat "$WORK/$name.out"
	grep -q panic "$WORK/a.log" && { echo "panic in the gateway log" >&2; rc=1; }
	kill -TERM "$GW_PID"; wait "$GW_PID" 2>/dev/null
	return $rc
}

scenario_failover() {
	log "failover ($KIND, wait_replicas 1): replace a master mid-load"
	failover_under_load failover 1
	verdict failover $? "see the load report above"
}

scenario_nowait() {
	log "nowait ($KIND, wait_replicas 0): replace a master mid-load, measure the loss"
	failover_under_load nowait 0
	RESULT[nowait]="measured: $(grep -o 'exactly once: .*' "$WORK/nowait.out" || echo 'no verdict')"
}

scenario_three() {
	log "three: three gateways on the cluster"
	bash "$REDIS_SH" flush "$WORK/redis"
	local pa pb pc; pa=$(freeport); pb=$(freeport); pc=$(freeport)
	rm -f "$WORK/a.yaml" "$WORK/b.yaml" "$WORK/c.yaml"
	start_gateway a "$pa" 0; local ga=$GW_PID
	start_gateway b "$pb" 0; local gb=$GW_PID
	start_gateway c "$pc" 0; local gc=$GW_PID
	local targets="http://127.0.0.1:$pa,http://127.0.0.1:$pb,http://127.0.0.1:$pc"
	load "$targets" three
	local rc=$?
	cat "$WORK/three.out"
	"$LT" claims --config "$WORK/a.yaml" --target "$targets" \
		--conversations 2000 --agents 100 --timeout 120s >"$WORK/claims.out" 2>"$WORK/claims.progress"
	local crc=$?
	cat "$WORK/claims.out"
	[[ $crc -ne 0 ]] && rc=1
	kill -TERM "$ga" "$gb" "$gc"; wait "$ga" "$gb" "$gc" 2>/dev/null
	verdict three $rc "see the reports above"
}

SCENARIOS=("$@")
if [[ ${#SCENARIOS[@]} -eq 0 ]]; then
	SCENARIOS=(failover nowait)
	[[ $KIND == cluster ]] && SCENARIOS+=(three)
fi
for s in "${SCENARIOS[@]}"; do
	case $s in
	failover | nowait | three) "scenario_$s" ;;
	*) echo "unknown scenario $s (failover, nowait, three)" >&2; exit 2 ;;
	esac
done

printf '\n== fault suite on a Redis %s: summary ==\n' "$KIND"
for s in "${SCENARIOS[@]}"; do printf '%-9s %s\n' "$s" "${RESULT[$s]:-not run}"; done
exit $FAILED

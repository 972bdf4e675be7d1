#!/usr/bin/env bash
# Fault suite: the gateway under load while things break, checked by the
# load tool's exactly-once verdict (every delivery answered 200 yields
# exactly one reply at the fake Graph API; deliveries not answered 200 are
# replayed, as Meta does, until they are).
#
#   scripts/faults.sh            run every scenario (about 4-6 minutes)
#   scripts/faults.sh kill       one scenario: kill | redis | two
#
# Scenarios:
#   kill   the gateway is killed with SIGKILL in the middle of a load and
#          restarted: nothing answered 200 is lost, no event is handled
#          twice. A reply the platform accepted just before the kill, whose
#          record the gateway never wrote, is sent again after the restart
#          (Meta's Send API has no idempotency key): the load tool tells such
#          a repeat (the same message id in the send's metadata) from a
#          duplicate, and allows at most one per send in flight at the kill
#          (engine.workers workers and as many send tasks).
#   redis  Redis is stopped in the middle of a load for a few seconds: the
#          gateway answers 503 (never panics), its goroutine count comes back
#          down (go_goroutines on /metrics), and once Redis is back the
#          replayed deliveries are processed exactly once.
#   two    two gateway processes share one Redis; the load alternates between
#          them (no double processing), then 100 agents claim through both
#          (no conversation claimed twice).
#
# It uses the built binaries (GATEWAY_BIN and LOADTEST_BIN, else it builds
# them), starts its own redis-server on a free loopback port in a temporary
# directory, and exits non-zero on any violation after printing a summary.
# Knobs: FAULT_RATE (webhooks/s, default 300), FAULT_SECONDS (load length, 8).
set -uo pipefail

cd "$(dirname "$0")/.."
WORK=$(mktemp -d)
RATE=${FAULT_RATE:-300}
SECS=${FAULT_SECONDS:-8}
PIDS=()
declare -A RESULT
FAILED=0

cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

log() { printf '\n### %s\n' "$*" >&2; }

source scripts/ports.sh

GW=${GATEWAY_BIN:-}
LT=${LOADTEST_BIN:-}
if [[ -z $GW ]]; then GW=$WORK/gateway; go build -o "$GW" ./cmd/gateway || exit 2; fi
if [[ -z $LT ]]; then LT=$WORK/loadtest; go build -o "$LT" ./cmd/loadtest || exit 2; fi
command -v redis-server >/dev/null || { echo "redis-server is not on PATH" >&2; exit 2; }

REDIS_PORT=$(freeport)
REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
REDIS_PID=
start_redis() {
	# appendonly: a stopped Redis comes back with its data, as a real one does.
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly yes --appendfsync everysec \
		--dir "$WORK" --daemonize no --loglevel warning >>"$WORK/redis.log" 2>&1 &
	REDIS_PID=$!
	PIDS+=("$REDIS_PID")
	for _ in $(seq 1 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return; sleep 0.05; done
	echo "redis-server did not start" >&2
	exit 2
}
stop_redis() { kill -TERM "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null; }

# start_gateway NAME PORT: starts a gateway on PORT with config $WORK/NAME.yaml; sets GW_PID.
start_gateway() {
	local name=$1 port=$2
	[[ -f $WORK/$name.yaml ]] || "$LT" config --redis "$REDIS_URL" --listen "127.0.0.1:$port" --graph "127.0.0.1:$GRAPH_PORT" >"$WORK/$name.yaml"
	"$GW" serve --config "$WORK/$name.yaml" >>"$WORK/$name.log" 2>&1 &
	GW_PID=$!
	PIDS+=("$GW_PID")
	for _ in $(seq 1 200); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && return; sleep 0.05; done
	echo "gateway $name did not become ready; log:" >&2
	tail -20 "$WORK/$name.log" >&2
	exit 2
}

goroutines() { curl -fs "http://127.0.0.1:$1/metrics" | awk '/^go_goroutines /{print $2}'; }

verdict() { # verdict NAME RC
	if [[ $2 -eq 0 ]]; then RESULT[$1]=pass; else RESULT[$1]="FAIL ($3)"; FAILED=1; fi
}

load() { # load TARGETS LOGNAME [FLAGS]: the standard faulted load, replaying what failed and checking exactly-once
	"$LT" run --config "$WORK/a.yaml" --target "$1" --users 300 --rate "$RATE" --duration "${SECS}s" \
		--concurrency 32 --replay 90s --drain 200s --settle 3s "${@:3}" >"$WORK/$2.out" 2>"$WORK/$2.progress"
}

scenario_kill() {
	log "kill: SIGKILL the gateway mid-load, restart it"
	redis-cli -p "$REDIS_PORT" flushall >/dev/null
	local port; port=$(freeport)
	start_gateway a "$port"
	local workers; workers=$(awk '$1 == "workers:" {print $2}' "$WORK/a.yaml")
	load "http://127.0.0.1:$port" kill --sent-again-allowed $((2 * workers)) &
	local lt=$!
	sleep $((SECS / 3))
	kill -9 "$GW_PID"
	sleep 1
	start_gateway a "$port"
	wait "$lt"
	local rc=$?
	cat "$WORK/kill.out"
	grep -q panic "$WORK/a.log" && { echo "panic in the gateway log" >&2; rc=1; }
	kill -TERM "$GW_PID"; wait "$GW_PID" 2>/dev/null
	verdict kill $rc "see the load report above"
}

scenario_redis() {
	log "redis: stop Redis mid-load, bring it back"
	redis-cli -p "$REDIS_PORT" flushall >/dev/null
	local port; port=$(freeport)
	start_gateway a "$port"
	local before; before=$(goroutines "$port")
	load "http://127.0.0.1:$port" redis &
	local lt=$!
	sleep $((SECS / 3))
	stop_redis
	sleep 3
	local down; down=$(goroutines "$port")
	start_redis
	wait "$lt"
	local rc=$? why="see the load report above"
	cat "$WORK/redis.out"
	sleep 2
	local after; after=$(goroutines "$port")
	echo "go_goroutines: $before before the load, $down with Redis down, $after after"
	if ! kill -0 "$GW_PID" 2>/dev/null; then rc=1; why="the gateway died"; fi
	if grep -q panic "$WORK/a.log"; then rc=1; why="panic in the gateway log"; fi
	if ! grep -q ' 503=' "$WORK/redis.out"; then rc=1; why="no 503 while Redis was down"; fi
	if [[ -z $after || $after -gt $((before * 2 + 50)) ]]; then rc=1; why="goroutines did not come back down ($before -> $after)"; fi
	kill -TERM "$GW_PID"; wait "$GW_PID" 2>/dev/null
	verdict redis $rc "$why"
}

scenario_two() {
	log "two: two gateways on one Redis"
	redis-cli -p "$REDIS_PORT" flushall >/dev/null
	local pa pb; pa=$(freeport); pb=$(freeport)
	rm -f "$WORK/a.yaml" "$WORK/b.yaml"
	start_gateway a "$pa"; local ga=$GW_PID
	start_gateway b "$pb"; local gb=$GW_PID
	load "http://127.0.0.1:$pa,http://127.0.0.1:$pb" two
	local rc=$?
	cat "$WORK/two.out"
	"$LT" claims --config "$WORK/a.yaml" --target "http://127.0.0.1:$pa,http://127.0.0.1:$pb" \
		--conversations 2000 --agents 100 --timeout 120s >"$WORK/claims.out" 2>"$WORK/claims.progress"
	local crc=$?
	cat "$WORK/claims.out"
	[[ $crc -ne 0 ]] && rc=1
	kill -TERM "$ga" "$gb"; wait "$ga" "$gb" 2>/dev/null
	verdict two $rc "see the reports above"
}

GRAPH_PORT=$(freeport)
start_redis
SCENARIOS=("$@")
[[ ${#SCENARIOS[@]} -eq 0 ]] && SCENARIOS=(kill redis two)
for s in "${SCENARIOS[@]}"; do
	case $s in
	kill | redis | two) "scenario_$s" ;;
	*) echo "unknown scenario $s (kill, redis, two)" >&2; exit 2 ;;
	esac
	rm -f "$WORK"/a.yaml "$WORK"/b.yaml
done

printf '\n== fault suite summary ==\n'
for s in "${SCENARIOS[@]}"; do printf '%-6s %s\n' "$s" "${RESULT[$s]:-not run}"; done
exit $FAILED

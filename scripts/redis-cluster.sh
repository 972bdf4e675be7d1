#!/usr/bin/env bash
# Starts (or stops) a Redis Cluster of three masters with one replica each
# on free loopback ports, for trying the gateway on a cluster by hand.
#
#   scripts/redis-cluster.sh start DIR   six redis-servers with their data in
#                                        DIR, then redis-cli --cluster create;
#                                        prints the gateway's redis section
#   scripts/redis-cluster.sh stop DIR    stops them
#
# The Go tests start their own (SWITCHBOARD_TEST_REDIS=cluster).
set -euo pipefail
cd "$(dirname "$0")/.."

cmd=${1:-}
DIR=${2:-}
[[ -n $cmd && -n $DIR ]] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

case $cmd in
start)
	mkdir -p "$DIR"
	WORK=$DIR
	source scripts/ports.sh
	addrs=()
	for i in 0 1 2 3 4 5; do
		port=$(freeport) bus=$(freeport)
		mkdir -p "$DIR/$i"
		redis-server --port "$port" --cluster-port "$bus" --bind 127.0.0.1 --cluster-enabled yes \
			--cluster-config-file nodes.conf --cluster-node-timeout 3000 --dir "$DIR/$i" \
			--save "" --appendonly yes --daemonize yes --pidfile "$DIR/$i/redis.pid" \
			--logfile "$DIR/$i/redis.log" --loglevel warning
		addrs+=("127.0.0.1:$port")
	done
	for a in "${addrs[@]}"; do
		for _ in $(seq 1 100); do redis-cli -u "redis://$a" ping >/dev/null 2>&1 && break; sleep 0.05; done
	done
	redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes >"$DIR/create.log"
	for a in "${addrs[@]}"; do
		for _ in $(seq 1 200); do
			redis-cli -u "redis://$a" cluster info | grep -q cluster_state:ok && break
			sleep 0.05
		done
	done
	printf '%s\n' "${addrs[@]}" >"$DIR/nodes"
	printf 'redis:\n  cluster: [%s]\n' "$(printf '"%s", ' "${addrs[@]}" | sed 's/, $//')"
	;;
stop)
	for pid in "$DIR"/*/redis.pid; do
		[[ -f $pid ]] && kill "$(cat "$pid")" 2>/dev/null || true
	done
	;;
*)
	echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# Starts (or stops) a Redis Cluster of three masters with one replica each
# on free loopback ports, for trying the gateway on a cluster by hand.
#
#   scripts/redis-cluster.sh start DIR   six redis-servers with their data in
#                                        DIR, then redis-cli --cluster create;
#                                        prints the gateway's redis section
#   scripts/redis-cluster.sh stop DIR    stops them
#   scripts/redis-cluster.sh flush DIR   empties every master
#   scripts/redis-cluster.sh failover DIR
#                                        hands the first master over to its
#                                        replica (CLUSTER FAILOVER), kills it,
#                                        restarts it and waits until it is the
#                                        new master's replica, in sync
#
# The Go tests start their own (SWITCHBOARD_TEST_REDIS=cluster).
set -euo pipefail
cd "$(dirname "$0")/.."

cmd=${1:-}
DIR=${2:-}
[[ -n $cmd && -n $DIR ]] || { echo "usage: $0 start|stop|flush|failover DIR" >&2; exit 2; }

role() { redis-cli -u "redis://$1" info replication | tr -d '\r' | awk -F: '$1=="role"{print $2}'; }

case $cmd in
start)
	mkdir -p "$DIR"
	WORK=$DIR
	source scripts/ports.sh
	addrs=()
	for i in 0 1 2 3 4 5; do
		port=$(freeport) bus=$(freeport)
		mkdir -p "$DIR/$i"
		# The command line is kept so that failover can restart the node.
		printf '%s\n' --port "$port" --cluster-port "$bus" --bind 127.0.0.1 --cluster-enabled yes \
			--cluster-config-file nodes.conf --cluster-node-timeout 3000 --dir "$DIR/$i" \
			--save "" --appendonly yes --daemonize yes --pidfile "$DIR/$i/redis.pid" \
			--logfile "$DIR/$i/redis.log" --loglevel warning >"$DIR/$i/args"
		mapfile -t args <"$DIR/$i/args"
		redis-server "${args[@]}"
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
	for a in "${addrs[@]}"; do # replicas in sync
		for _ in $(seq 1 200); do
			[[ $(role "$a") == master ]] && break
			redis-cli -u "redis://$a" info replication | grep -q master_link_status:up && break
			sleep 0.05
		done
	done
	printf '%s\n' "${addrs[@]}" >"$DIR/nodes"
	printf 'redis:\n  cluster: [%s]\n' "$(printf '"%s", ' "${addrs[@]}" | sed 's/, $//')"
	;;
flush)
	while read -r a; do
		[[ $(role "$a" 2>/dev/null) == master ]] && redis-cli -u "redis://$a" flushall >/dev/null
	done <"$DIR/nodes"
	;;
failover)
	mapfile -t nodes <"$DIR/nodes"
	old=
	for a in "${nodes[@]}"; do [[ $(role "$a" 2>/dev/null) == master ]] && { old=$a; break; }; done
	replica=
	for a in "${nodes[@]}"; do
		redis-cli -u "redis://$a" info replication 2>/dev/null | tr -d '\r' | grep -qx "master_port:${old##*:}" && { replica=$a; break; }
	done
	[[ -n $old && -n $replica ]] || { echo "no master with a replica" >&2; exit 1; }
	redis-cli -u "redis://$replica" cluster failover >/dev/null
	for _ in $(seq 1 300); do [[ $(role "$replica") == master ]] && break; sleep 0.05; done
	[[ $(role "$replica") == master ]] || { echo "$replica was not promoted" >&2; exit 1; }
	i=0
	for a in "${nodes[@]}"; do [[ $a == "$old" ]] && break; i=$((i + 1)); done
	kill -9 "$(cat "$DIR/$i/redis.pid")"
	echo "failover: $replica took over from $old, which was killed" >&2
	sleep 1
	mapfile -t args <"$DIR/$i/args"
	redis-server "${args[@]}"
	for _ in $(seq 1 600); do
		redis-cli -u "redis://$old" info replication 2>/dev/null | tr -d '\r' | grep -q master_link_status:up && break
		sleep 0.05
	done
	echo "failover: $old is back as a replica" >&2
	;;
stop)
	for pid in "$DIR"/*/redis.pid; do
		[[ -f $pid ]] && kill "$(cat "$pid")" 2>/dev/null || true
	done
	;;
*)
	echo "usage: $0 start|stop|flush|failover DIR" >&2; exit 2 ;;
esac

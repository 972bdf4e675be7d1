#!/usr/bin/env bash
# Starts (or stops) a Sentinel set on free loopback ports: a master, one
# replica and three Sentinels watching the master as "switchboard", for
# trying the gateway on Sentinel by hand.
#
#   scripts/redis-sentinel.sh start DIR   prints the gateway's redis section
#   scripts/redis-sentinel.sh stop DIR
#
# The Go tests start their own (SWITCHBOARD_TEST_REDIS=sentinel).
set -euo pipefail
cd "$(dirname "$0")/.."

cmd=${1:-}
DIR=${2:-}
[[ -n $cmd && -n $DIR ]] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

common=(--bind 127.0.0.1 --save "" --appendonly yes --daemonize yes --loglevel warning)
case $cmd in
start)
	mkdir -p "$DIR/master" "$DIR/replica"
	WORK=$DIR
	source scripts/ports.sh
	mport=$(freeport) rport=$(freeport)
	redis-server --port "$mport" --dir "$DIR/master" --pidfile "$DIR/master/redis.pid" \
		--logfile "$DIR/master/redis.log" "${common[@]}"
	redis-server --port "$rport" --dir "$DIR/replica" --pidfile "$DIR/replica/redis.pid" \
		--logfile "$DIR/replica/redis.log" --replicaof 127.0.0.1 "$mport" "${common[@]}"
	addrs=()
	for i in 0 1 2; do
		sport=$(freeport)
		mkdir -p "$DIR/sentinel$i"
		cat >"$DIR/sentinel$i/sentinel.conf" <<CONF
port $sport
bind 127.0.0.1
daemonize yes
pidfile $DIR/sentinel$i/redis.pid
logfile $DIR/sentinel$i/sentinel.log
dir $DIR/sentinel$i
sentinel monitor switchboard 127.0.0.1 $mport 2
sentinel down-after-milliseconds switchboard 2000
sentinel failover-timeout switchboard 10000
CONF
		redis-server "$DIR/sentinel$i/sentinel.conf" --sentinel
		addrs+=("127.0.0.1:$sport")
	done
	for _ in $(seq 1 200); do
		redis-cli -p "$mport" info replication | grep -q 'state=online' && break
		sleep 0.05
	done
	printf 'redis:\n  sentinel:\n    master: switchboard\n    addrs: [%s]\n' "$(printf '"%s", ' "${addrs[@]}" | sed 's/, $//')"
	;;
stop)
	for pid in "$DIR"/*/redis.pid; do
		[[ -f $pid ]] && kill "$(cat "$pid")" 2>/dev/null || true
	done
	;;
*)
	echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac

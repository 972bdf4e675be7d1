#!/usr/bin/env bash
# Starts (or stops) a Sentinel set on free loopback ports: a master, one
# replica and three Sentinels watching the master as "switchboard", for
# trying the gateway on Sentinel by hand.
#
#   scripts/redis-sentinel.sh start DIR   prints the gateway's redis section
#   scripts/redis-sentinel.sh stop DIR
#   scripts/redis-sentinel.sh flush DIR      empties the master
#   scripts/redis-sentinel.sh failover DIR   kills the master, waits until the
#                                            Sentinels promote the replica,
#                                            restarts the old master and waits
#                                            until it is the new one's replica
#
# The Go tests start their own (SWITCHBOARD_TEST_REDIS=sentinel).
set -euo pipefail
cd "$(dirname "$0")/.."

cmd=${1:-}
DIR=${2:-}
[[ -n $cmd && -n $DIR ]] || { echo "usage: $0 start|stop|flush|failover DIR" >&2; exit 2; }

master() { redis-cli -p "$(cat "$DIR/sentinel0/port")" sentinel get-master-addr-by-name switchboard | tr '\n' ' ' | awk '{print $1":"$2}'; }

common=(--bind 127.0.0.1 --save "" --appendonly yes --daemonize yes --loglevel warning)
case $cmd in
start)
	mkdir -p "$DIR/master" "$DIR/replica"
	WORK=$DIR
	source scripts/ports.sh
	mport=$(freeport) rport=$(freeport)
	# The command lines are kept so that failover can restart a server.
	printf '%s\n' --port "$mport" --dir "$DIR/master" --pidfile "$DIR/master/redis.pid" \
		--logfile "$DIR/master/redis.log" "${common[@]}" >"$DIR/master/args"
	printf '%s\n' --port "$rport" --dir "$DIR/replica" --pidfile "$DIR/replica/redis.pid" \
		--logfile "$DIR/replica/redis.log" --replicaof 127.0.0.1 "$mport" "${common[@]}" >"$DIR/replica/args"
	for n in master replica; do
		mapfile -t args <"$DIR/$n/args"
		redis-server "${args[@]}"
	done
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
		echo "$sport" >"$DIR/sentinel$i/port"
		redis-server "$DIR/sentinel$i/sentinel.conf" --sentinel
		addrs+=("127.0.0.1:$sport")
	done
	for _ in $(seq 1 200); do
		redis-cli -p "$mport" info replication | grep -q 'state=online' && break
		sleep 0.05
	done
	# Every Sentinel knows the replica and the other two, or a failover
	# right away would find no one to promote.
	for i in 0 1 2; do
		for _ in $(seq 1 400); do
			redis-cli -p "$(cat "$DIR/sentinel$i/port")" sentinel master switchboard | paste - - |
				awk '$1=="num-slaves"{r=$2} $1=="num-other-sentinels"{s=$2} END{exit !(r>=1 && s>=2)}' && break
			sleep 0.05
		done
	done
	printf 'redis:\n  sentinel:\n    master: switchboard\n    addrs: [%s]\n' "$(printf '"%s", ' "${addrs[@]}" | sed 's/, $//')"
	;;
flush)
	redis-cli -u "redis://$(master)" flushall >/dev/null
	;;
failover)
	old=$(master)
	n=
	for d in master replica; do
		[[ $(sed -n 2p "$DIR/$d/args") == "${old##*:}" ]] && n=$d
	done
	[[ -n $n ]] || { echo "the master $old is neither server" >&2; exit 1; }
	kill -9 "$(cat "$DIR/$n/redis.pid")"
	for _ in $(seq 1 600); do [[ $(master) != "$old" ]] && break; sleep 0.05; done
	new=$(master)
	[[ $new != "$old" ]] || { echo "the Sentinels promoted no replica" >&2; exit 1; }
	echo "failover: $old killed, the Sentinels promoted $new" >&2
	mapfile -t args <"$DIR/$n/args"
	redis-server "${args[@]}"
	for _ in $(seq 1 600); do
		redis-cli -u "redis://$new" info replication | grep -q 'state=online' && break
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

# Sourced by faults-ha.sh and bench-cluster.sh; needs $LT (the load tool)
# and $WORK/redis.yaml (what redis-cluster.sh or redis-sentinel.sh start
# printed).
#
# ha_config PORT GRAPH_PORT WAIT prints a gateway configuration for the load
# tool whose redis section is the cluster's or Sentinels', with
# wait_replicas WAIT: the load tool writes one for a single server, and its
# url line becomes those lines.
ha_config() {
	"$LT" config --redis redis://127.0.0.1:1/0 --listen "127.0.0.1:$1" --graph "127.0.0.1:$2" |
		awk -v extra="$(tail -n +2 "$WORK/redis.yaml"; echo "  wait_replicas: $3")" \
			'/^  url: "redis:/ {print extra; next} {print}'
}

# Sourced by the scripts in this folder; needs $WORK (a scratch directory).
#
# freeport prints a loopback port nothing listens on, taken below the
# kernel's ephemeral range (so the local end of an outgoing connection
# cannot be holding it), and never the same port twice in one run.
freeport() {
	local p lo
	lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
	for _ in $(seq 1 200); do
		p=$((10000 + RANDOM % (lo - 10000)))
		grep -qx "$p" "$WORK/ports" 2>/dev/null && continue
		if ! (echo >/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
			echo "$p" >>"$WORK/ports"
			echo "$p"
			return
		fi
	done
	echo "no free port" >&2
	exit 2
}

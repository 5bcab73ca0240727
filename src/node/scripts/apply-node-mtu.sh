#!/bin/sh
# apply-node-mtu: give flannel's existing devices the planned MTU before flanneld starts.
#
# Env DEVICE_MTUS: space-separated name=mtu pairs, e.g. "flannel.1=<pod mtu> cni0=<pod mtu>".
# Env NIC_MTU_NEEDED (optional): the underlay MTU the plan needs on this node (pod MTU +
#   encapsulation, from the plan). When set, the NIC flanneld will use is checked first and the
#   script fails, naming node, interface and both numbers, when it carries less: the DaemonSet's
#   rolling update then stops at this node instead of spreading a blackhole.
#   NODE_NAME, HOST_IP: downward API spec.nodeName, status.hostIP.
#   FLANNEL_IFACES (space-separated names or addresses), FLANNEL_IFACE_REGEXES (one per line),
#   FLANNEL_IFACE_CAN_REACH (an address): flanneld's --iface, --iface-regex, --iface-can-reach,
#   tried in that order as flanneld does (main.go, pkg/ipmatch/match.go @ v0.28.9); with none of
#   them, the interface that carries HOST_IP.
#
# Why: flanneld reuses an existing flannel.1/flannel-v6.1 without comparing MTU
# (vxlanLinksIncompat, pkg/backend/vxlan/device.go @ v0.28.9), and the CNI bridge
# plugin reuses an existing cni0 as is (ensureBridge). A new plan would otherwise
# only reach a node after a reboot.
# We set the MTU rather than delete the device: flanneld's routes, fdb and neigh
# entries and the pods' bridge ports stay, so the node keeps forwarding, and since
# flanneld does not compare MTU the result equals a freshly created device.
set -euf

me=apply-node-mtu
log() { printf '%s: %s\n' "$me" "$*"; }
die() { printf '%s: error: %s\n' "$me" "$*" >&2; exit 1; }

# ^[A-Za-z0-9][A-Za-z0-9._-]{0,14}$ (IFNAMSIZ 16 incl. NUL)
valid_dev() {
	case $1 in '' | [!A-Za-z0-9]* | *[!A-Za-z0-9._-]*) return 1 ;; esac
	[ "${#1}" -le 15 ]
}
# Decimal without leading zero (no octal surprises), 576..9216.
valid_mtu() {
	case $1 in '' | 0* | *[!0-9]*) return 1 ;; esac
	[ "${#1}" -le 4 ] && [ "$1" -ge 576 ] && [ "$1" -le 9216 ]
}

# The NIC flanneld will use, as "<name> <mtu> <why>", chosen like flanneld chooses its external
# interface: the first --iface that exists (a name, or the interface holding an address), else the
# first --iface-regex matching an IPv4 address, then a name, else the route to --iface-can-reach;
# with none of them, the interface holding HOST_IP. Empty when nothing matches.
pick_nic() {
	reach=
	if [ -n "${FLANNEL_IFACE_CAN_REACH:-}" ]; then
		reach=$(ip -o route get "$FLANNEL_IFACE_CAN_REACH" 2>/dev/null | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }') || reach=
	fi
	{ ip -o link show; echo '--addr--'; ip -o addr show; } | awk -v reach="$reach" '
		/^--addr--$/ { inaddr = 1; next }
		!inaddr { n = $2; sub(/:$/, "", n); sub(/@.*/, "", n); order[++links] = n; mtu[n] = "?"
			for (i = 3; i < NF; i++) if ($i == "mtu") mtu[n] = $(i + 1); next }
		{ a = $4; sub(/\/.*/, "", a); holder[a] = $2; if ($3 == "inet") v4[$2] = v4[$2] " " a }
		function found(n, why) { print n, mtu[n], why; exit }
		END {
			ifaces = ENVIRON["FLANNEL_IFACES"]; regexes = ENVIRON["FLANNEL_IFACE_REGEXES"]
			if (ifaces == "" && regexes == "" && ENVIRON["FLANNEL_IFACE_CAN_REACH"] == "") {
				h = ENVIRON["HOST_IP"]; if (h in holder) found(holder[h], "holds the node address " h); exit
			}
			k = split(ifaces, want, " ")
			for (j = 1; j <= k; j++) {
				w = want[j]
				if (w in holder) found(holder[w], "holds " w ", --iface=" w)
				for (l = 1; l <= links; l++) if (order[l] == w) found(w, "--iface=" w)
			}
			k = split(regexes, res, "\n")
			for (j = 1; j <= k; j++) {
				if (res[j] == "") continue
				for (l = 1; l <= links; l++) { m = split(v4[order[l]], as, " ")
					for (x = 1; x <= m; x++) if (as[x] ~ res[j]) found(order[l], "address " as[x] " matches --iface-regex=" res[j]) }
				for (l = 1; l <= links; l++) if (order[l] ~ res[j]) found(order[l], "name matches --iface-regex=" res[j])
			}
			if (reach != "") found(reach, "routes to --iface-can-reach=" ENVIRON["FLANNEL_IFACE_CAN_REACH"])
		}'
}

# Refuse a NIC that cannot carry what the plan needs; log what a larger one leaves unused. (The
# declared nicMtu is not passed on purpose: a nicMtu that does not bind changes no number, so it
# must not change the pod template and roll flannel on every node.)
check_nic() {
	picked=$(pick_nic) || die "node $NODE_NAME: cannot list interfaces"
	[ -n "$picked" ] || {
		if [ -z "${FLANNEL_IFACES:-}${FLANNEL_IFACE_REGEXES:-}${FLANNEL_IFACE_CAN_REACH:-}" ]; then
			die "node $NODE_NAME: no interface holds the node address $HOST_IP"
		fi
		die "node $NODE_NAME: no interface matches flannel's iface settings (iface: ${FLANNEL_IFACES:-none}; ifaceRegex: $(printf '%s' "${FLANNEL_IFACE_REGEXES:-none}" | tr '\n' ' '); ifaceCanReach: ${FLANNEL_IFACE_CAN_REACH:-none}): flanneld would exit"
	}
	nic=${picked%% *}
	rest=${picked#* }
	nic_mtu=${rest%% *}
	why=${rest#* }
	case $nic_mtu in '' | *[!0-9]*) die "node $NODE_NAME: cannot read the mtu of interface $nic" ;; esac
	if [ "$nic_mtu" -lt "$NIC_MTU_NEEDED" ]; then
		die "node $NODE_NAME: interface $nic ($why) has mtu $nic_mtu, below the $NIC_MTU_NEEDED the plan needs (pod MTU + encapsulation): overlay packets would not fit; fix the NIC or declare the smaller nicMtu and regenerate"
	fi
	if [ -z "${FLANNEL_IFACES:-}${FLANNEL_IFACE_REGEXES:-}${FLANNEL_IFACE_CAN_REACH:-}" ]; then
		# flanneld itself, given no iface, takes the interface of the first IPv4 default route
		# (ip.GetDefaultGatewayInterface @ v0.28.9): say so when that is another NIC.
		dflt=$(ip -o -4 route show default 2>/dev/null | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }') || dflt=
		if [ -n "$dflt" ] && [ "$dflt" != "$nic" ]; then
			log "node $NODE_NAME: warning: flanneld will use $dflt (the default route's interface), not $nic that holds the node address: set flannel.iface so flanneld and this check use the same NIC"
		fi
	fi
	if [ "$nic_mtu" -eq "$NIC_MTU_NEEDED" ]; then
		log "node $NODE_NAME: interface $nic ($why) mtu $nic_mtu is exactly the $NIC_MTU_NEEDED the plan needs"
	else
		log "node $NODE_NAME: interface $nic ($why) mtu $nic_mtu carries the $NIC_MTU_NEEDED the plan needs, $((nic_mtu - NIC_MTU_NEEDED)) bytes of unused headroom (a larger declared nicMtu or path MTU would give them to the pods)"
	fi
	return 0
}

[ "${DEVICE_MTUS+set}" = set ] || die "DEVICE_MTUS is not set"

# Validate everything before touching anything.
seen=' '
count=0
for pair in $DEVICE_MTUS; do
	dev=${pair%%=*}
	mtu=${pair#*=}
	[ "$dev=$mtu" = "$pair" ] || die "DEVICE_MTUS: '$pair' is not name=mtu"
	valid_dev "$dev" || die "DEVICE_MTUS: invalid device name '$dev'"
	valid_mtu "$mtu" || die "DEVICE_MTUS: $dev: invalid mtu '$mtu' (want an integer 576..9216)"
	case $seen in *" $dev "*) die "DEVICE_MTUS: $dev listed twice" ;; esac
	seen="$seen$dev "
	count=$((count + 1))
done
[ "$count" -gt 0 ] || die "DEVICE_MTUS is empty"

valid_addr() {
	case $1 in '' | *[!0-9A-Fa-f.:]*) return 1 ;; esac
	[ "${#1}" -le 45 ]
}
if [ -n "${NIC_MTU_NEEDED:-}" ]; then
	valid_mtu "$NIC_MTU_NEEDED" || die "NIC_MTU_NEEDED: invalid mtu '$NIC_MTU_NEEDED' (want an integer 576..9216)"
	case ${NODE_NAME:-} in '' | *[!a-z0-9.-]*) die "NODE_NAME: invalid node name '${NODE_NAME:-}'" ;; esac
	for i in ${FLANNEL_IFACES:-}; do
		valid_dev "$i" || valid_addr "$i" || die "FLANNEL_IFACES: '$i' is neither an interface name nor an address"
	done
	[ -z "${FLANNEL_IFACE_CAN_REACH:-}" ] || valid_addr "$FLANNEL_IFACE_CAN_REACH" || die "FLANNEL_IFACE_CAN_REACH: invalid address '$FLANNEL_IFACE_CAN_REACH'"
	if [ -z "${FLANNEL_IFACES:-}${FLANNEL_IFACE_REGEXES:-}${FLANNEL_IFACE_CAN_REACH:-}" ]; then
		valid_addr "${HOST_IP:-}" || die "HOST_IP: invalid node address '${HOST_IP:-}'"
	fi
	check_nic
fi

changed=0
for pair in $DEVICE_MTUS; do
	dev=${pair%%=*}
	mtu=${pair#*=}
	sys=/sys/class/net/$dev/mtu
	if [ ! -e "$sys" ]; then
		log "$dev: absent, will be created with mtu $mtu"
		continue
	fi
	old=$(cat "$sys")
	if [ "$old" = "$mtu" ]; then
		log "$dev: mtu $mtu unchanged"
		continue
	fi
	# A vxlan device cannot exceed its lower device's MTU - 50 (IPv4) / - 70 (IPv6):
	# the kernel answers EINVAL here (it only clamps silently at creation).
	# Raising cni0 above its ports' MTU is accepted (measured on 6.18), so the host-side
	# veths are left alone: their pod-side peers cannot be changed from here, and veth
	# ends with different MTUs drop oversize frames silently. Pods get the new MTU when
	# they are recreated.
	ip link set dev "$dev" mtu "$mtu" ||
		die "$dev: kernel refused mtu $mtu (still $old); for vxlan the limit is lower device mtu - 50 (IPv4) or - 70 (IPv6)"
	new=$(cat "$sys")
	[ "$new" = "$mtu" ] || die "$dev: mtu is $new after setting $mtu (kernel clamped it)"
	log "$dev: mtu $old -> $mtu"
	changed=$((changed + 1))
done

if [ "$changed" -eq 0 ]; then
	log "nothing changed"
else
	log "$changed device(s) changed"
fi

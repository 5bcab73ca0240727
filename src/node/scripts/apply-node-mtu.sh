#!/bin/sh
# apply-node-mtu: give flannel's existing devices the planned MTU before flanneld starts.
#
# Env DEVICE_MTUS: space-separated name=mtu pairs, e.g. "flannel.1=<pod mtu> cni0=<pod mtu>".
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

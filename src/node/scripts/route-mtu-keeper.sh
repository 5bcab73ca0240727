#!/bin/sh
# route-mtu-keeper: keep the link's overlay MTU on flannel's routes to other clouds (mtuMode per-path).
#
# In per-path mode flannel.1, cni0 and the pods run at their own cloud's maximum (8951 in a 9001
# cloud), so a packet to a pod in another cloud must be held to the link's overlay MTU by the
# route: `ip route replace <flannel's route> mtu <link overlay MTU>`. Then the node answers an
# oversize packet from its own pod with a local "fragmentation needed" (no WAN ICMP needed), and
# `TCPMSS --clamp-mss-to-pmtu` clamps each connection to its destination's MTU.
# flanneld replaces these routes without an mtu on lease events, so this sidecar watches route
# changes (`ip monitor route`) and re-checks every RECHECK_SECONDS; it changes nothing but the mtu
# attribute of routes via the overlay devices, leaves routes to nodes of its own cloud alone, and
# logs every change. STATUS_DIR/ready exists only while every route carries its planned MTU.
#
# How a route's remote node is found (vxlan, as flanneld programs it):
#   <pod subnet> via <remote flannel.1 address> dev flannel.1 onlink
#   ip neigh:   <remote flannel.1 address> lladdr <remote VTEP MAC>     (dev flannel.1)
#   bridge fdb: <remote VTEP MAC> dst <remote node's underlay IP>        (dev flannel.1)
# and the underlay IP's cloud is the one whose NODE_CIDRS contain it.
#
# Env (validated before anything runs; nothing unvalidated reaches a command line):
#   CLOUD            this node's cloud (a DNS label)
#   LINK_MTUS        lines "<cloud> <overlay mtu>": the link MTU toward each other cloud
#   NODE_CIDRS       lines "<cloud> <cidr>": underlay subnets of every cloud, this one included
#   OVERLAY_DEVICES  the overlay devices, e.g. "flannel.1" or "flannel.1 flannel-v6.1"
#   STATUS_DIR       where the ready file lives (absolute path)
#   RECHECK_SECONDS  seconds between full checks [30]
set -euf

me=route-mtu-keeper
log() { printf '%s: %s\n' "$me" "$*"; }
die() { printf '%s: error: %s\n' "$me" "$*" >&2; exit 1; }
nl='
'

# ---- validation helpers (pure sh) ----
valid_label() { # lowercase DNS label
	case $1 in '' | -* | *- | *[!a-z0-9-]*) return 1 ;; esac
	[ "${#1}" -le 63 ]
}
valid_dev() { # ^[A-Za-z0-9][A-Za-z0-9._-]{0,14}$
	case $1 in '' | [!A-Za-z0-9]* | *[!A-Za-z0-9._-]*) return 1 ;; esac
	[ "${#1}" -le 15 ]
}
valid_uint() { # decimal, no leading zero (no octal), at most $2 digits
	case $1 in 0) return 0 ;; '' | 0* | *[!0-9]*) return 1 ;; esac
	[ "${#1}" -le "$2" ]
}
valid_mtu() { valid_uint "$1" 4 && [ "$1" -ge 576 ] && [ "$1" -le 9216 ]; }
valid_word() { # a route keyword value such as a proto or scope name
	case $1 in '' | *[!a-z0-9_]*) return 1 ;; esac
	[ "${#1}" -le 16 ]
}
valid_mac() {
	case $1 in [0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]) return 0 ;; esac
	return 1
}

# v4_int ADDR: V4 = the address as an integer; fails unless a dotted quad of 0..255 without leading zeros.
v4_int() {
	case $1 in *[!0-9.]* | .* | *. | *..*) return 1 ;; esac
	_oifs=$IFS
	IFS=.
	# shellcheck disable=SC2086 # splitting on dots is the point (globbing is off: set -f)
	set -- $1
	IFS=$_oifs
	[ "$#" -eq 4 ] || return 1
	V4=0
	for _o in "$@"; do
		valid_uint "$_o" 3 && [ "$_o" -le 255 ] || return 1
		V4=$((V4 * 256 + _o))
	done
}

# v6_groups ADDR: V6 = the eight 16-bit groups as decimal numbers, space-separated; fails unless
# ADDR is a plain IPv6 address (hex groups, at most one "::", no embedded IPv4, no zone).
v6_groups() {
	case $1 in *[!0-9a-fA-F:]* | *:::* | *::*::* | '') return 1 ;; *:*) ;; *) return 1 ;; esac
	[ "${#1}" -le 39 ] || return 1
	case $1 in
	*::*) _head=${1%%::*} _tail=${1#*::} _comp=1 ;;
	*) _head=$1 _tail='' _comp=0 ;;
	esac
	case $_head in :* | *:) return 1 ;; esac
	case $_tail in :* | *:) return 1 ;; esac
	_oifs=$IFS
	IFS=:
	# shellcheck disable=SC2086 # splitting on colons is the point (globbing is off: set -f)
	set -- $_head
	_nh=$#
	# shellcheck disable=SC2086
	set -- $_tail
	_nt=$#
	IFS=$_oifs
	if [ "$_comp" -eq 1 ]; then
		[ $((_nh + _nt)) -le 7 ] || return 1
	else
		[ "$_nh" -eq 8 ] || return 1
	fi
	V6=
	_zeros=$((8 - _nh - _nt))
	IFS=:
	for _g in $_head; do
		_g6 "$_g" || { IFS=$_oifs; return 1; }
	done
	IFS=$_oifs
	while [ "$_zeros" -gt 0 ]; do
		V6="${V6:+$V6 }0"
		_zeros=$((_zeros - 1))
	done
	IFS=:
	for _g in $_tail; do
		_g6 "$_g" || { IFS=$_oifs; return 1; }
	done
	IFS=$_oifs
}
_g6() {
	case $1 in '' | ?????* | *[!0-9a-fA-F]*) return 1 ;; esac
	V6="${V6:+$V6 }$((0x$1))"
}

# parse_cidr CIDR: CFAM (4|6), CNET (V4 integer | V6 groups), CLEN; fails unless canonical-ish
# (valid address, prefix length in range, no host bits set).
parse_cidr() {
	case $1 in */*) ;; *) return 1 ;; esac
	_a=${1%/*}
	CLEN=${1#*/}
	case $_a in
	*:*)
		CFAM=6
		valid_uint "$CLEN" 3 && [ "$CLEN" -le 128 ] || return 1
		v6_groups "$_a" || return 1
		CNET=$V6
		v6_masked "$CNET" "$CLEN"
		[ "$MASKED" = "$CNET" ] || return 1
		;;
	*)
		CFAM=4
		valid_uint "$CLEN" 2 && [ "$CLEN" -le 32 ] || return 1
		v4_int "$_a" || return 1
		CNET=$V4
		[ $((CNET & $(v4_mask "$CLEN"))) -eq "$CNET" ] || return 1
		;;
	esac
}
v4_mask() { if [ "$1" -eq 0 ]; then echo 0; else echo $(((0xffffffff << (32 - $1)) & 0xffffffff)); fi; }
# v6_masked "GROUPS" LEN: MASKED = the groups with the bits past LEN cleared, space-separated.
v6_masked() {
	MASKED=
	_bits=$2
	for _g in $1; do
		if [ "$_bits" -ge 16 ]; then
			_m=65535
		elif [ "$_bits" -le 0 ]; then
			_m=0
		else
			_m=$(((0xffff << (16 - _bits)) & 0xffff))
		fi
		MASKED="${MASKED:+$MASKED }$((_g & _m))"
		_bits=$((_bits - 16))
	done
}

# ---- configuration ----
[ "${CLOUD+set}" = set ] || die "CLOUD is not set"
[ "${LINK_MTUS+set}" = set ] || die "LINK_MTUS is not set"
[ "${NODE_CIDRS+set}" = set ] || die "NODE_CIDRS is not set"
[ "${OVERLAY_DEVICES+set}" = set ] || die "OVERLAY_DEVICES is not set"
[ "${STATUS_DIR+set}" = set ] || die "STATUS_DIR is not set"
valid_label "$CLOUD" || die "CLOUD: expected a lowercase DNS label, got '$CLOUD'"
RECHECK_SECONDS=${RECHECK_SECONDS:-30}
{ valid_uint "$RECHECK_SECONDS" 4 && [ "$RECHECK_SECONDS" -ge 1 ] && [ "$RECHECK_SECONDS" -le 3600 ]; } ||
	die "RECHECK_SECONDS: expected an integer 1..3600, got '$RECHECK_SECONDS'"
case $STATUS_DIR in /*) ;; *) die "STATUS_DIR: expected an absolute path, got '$STATUS_DIR'" ;; esac
case $STATUS_DIR in *[!A-Za-z0-9/._-]* | */../* | */.. | *//*) die "STATUS_DIR: unsafe path '$STATUS_DIR'" ;; esac

devices=
for d in $OVERLAY_DEVICES; do
	valid_dev "$d" || die "OVERLAY_DEVICES: invalid device name '$d'"
	case " $devices " in *" $d "*) die "OVERLAY_DEVICES: $d listed twice" ;; esac
	devices="${devices:+$devices }$d"
done
[ -n "$devices" ] || die "OVERLAY_DEVICES is empty"

# LINK_MTUS -> link_mtus: " cloud=mtu cloud=mtu "
link_mtus=' '
oifs=$IFS
IFS=$nl
for line in $LINK_MTUS; do
	IFS=$oifs
	# shellcheck disable=SC2086
	set -- $line
	[ "$#" -eq 0 ] && continue
	[ "$#" -eq 2 ] || die "LINK_MTUS: expected '<cloud> <mtu>', got '$line'"
	valid_label "$1" || die "LINK_MTUS: invalid cloud name '$1'"
	[ "$1" != "$CLOUD" ] || die "LINK_MTUS: $1 is this node's own cloud"
	valid_mtu "$2" || die "LINK_MTUS: $1: invalid mtu '$2' (want an integer 576..9216)"
	case $link_mtus in *" $1="*) die "LINK_MTUS: $1 listed twice" ;; esac
	link_mtus="$link_mtus$1=$2 "
done
IFS=$oifs

# NODE_CIDRS -> cidrs: lines "<cloud> 4 <net as an integer> <len>" or "<cloud> 6 <8 groups> <len>"
cidrs=
oifs=$IFS
IFS=$nl
for line in $NODE_CIDRS; do
	IFS=$oifs
	# shellcheck disable=SC2086
	set -- $line
	[ "$#" -eq 0 ] && continue
	[ "$#" -eq 2 ] || die "NODE_CIDRS: expected '<cloud> <cidr>', got '$line'"
	valid_label "$1" || die "NODE_CIDRS: invalid cloud name '$1'"
	[ "$1" = "$CLOUD" ] || case $link_mtus in *" $1="*) ;; *) die "NODE_CIDRS: cloud $1 is neither this cloud nor in LINK_MTUS" ;; esac
	parse_cidr "$2" || die "NODE_CIDRS: $1: invalid CIDR '$2' (want a network address and prefix length, no host bits)"
	cidrs="$cidrs$1 $CFAM $CNET $CLEN$nl"
done
IFS=$oifs
for c in "$CLOUD=" $link_mtus; do
	c=${c%%=*}
	case "$nl$cidrs" in *"$nl$c "*) ;; *) die "NODE_CIDRS: no CIDR for cloud $c: its nodes could not be recognized" ;; esac
done

# cloud_of FAMILY ADDR: OWNER = the cloud whose CIDR contains ADDR (first match), or empty.
cloud_of() {
	OWNER=
	_fam=$1
	if [ "$_fam" = 4 ]; then v4_int "$2" || return 1; else v6_groups "$2" || return 1; fi
	_oifs=$IFS
	IFS=$nl
	for _l in $cidrs; do
		IFS=$_oifs
		# shellcheck disable=SC2086
		set -- $_l
		# $1 cloud, $2 family, then the net (1 or 8 numbers), then the length
		_c=$1 _f=$2
		shift 2
		[ "$_f" = "$_fam" ] || continue
		if [ "$_f" = 4 ]; then
			[ $((V4 & $(v4_mask "$2"))) -eq "$1" ] && OWNER=$_c && break
		else
			_len=$9
			v6_masked "$V6" "$_len"
			[ "$MASKED" = "$1 $2 $3 $4 $5 $6 $7 $8" ] && OWNER=$_c && break
		fi
	done
	IFS=$_oifs
	return 0
}

mkdir -p "$STATUS_DIR"
ready=$STATUS_DIR/ready
rm -f "$ready"

# ---- one route ----
# check_route DEV LINE: LINE is a route as `ip route show dev DEV` or `ip monitor route` prints it.
# Returns 0 when the route is fine now (planned MTU, same cloud, or not one of flannel's), 1 when
# it could not be resolved or set (logged).
check_route() {
	_dev=$1
	# shellcheck disable=SC2086
	set -- $2
	[ "$#" -gt 0 ] || return 0
	_dst=$1
	shift
	case $_dst in
	local | broadcast | multicast | unreachable | prohibit | blackhole | throw | nat | anycast | default | Deleted) return 0 ;;
	esac
	_gw='' _onlink='' _proto='' _scope='' _metric='' _pref='' _mtu='' _src=''
	while [ "$#" -gt 0 ]; do
		case $1 in
		via) [ "$#" -ge 2 ] || return 0; _gw=$2; shift 2 ;;
		dev) [ "$#" -ge 2 ] || return 0; [ "$2" = "$_dev" ] || return 0; shift 2 ;;
		onlink) _onlink=onlink; shift ;;
		linkdown | dead | pervasive | offload | trap) shift ;;
		proto | scope | pref)
			{ [ "$#" -ge 2 ] && valid_word "$2"; } || { log "$_dev: skipping route '$*': bad $1"; return 1; }
			case $1 in proto) _proto=$2 ;; scope) _scope=$2 ;; pref) _pref=$2 ;; esac
			shift 2
			;;
		metric) { [ "$#" -ge 2 ] && valid_uint "$2" 10; } || { log "$_dev: skipping route: bad metric"; return 1; }; _metric=$2; shift 2 ;;
		mtu)
			shift
			[ "${1:-}" = lock ] && { log "$_dev: $_dst: mtu is locked, left alone"; return 1; }
			{ [ "$#" -ge 1 ] && valid_uint "$1" 5; } || { log "$_dev: $_dst: bad mtu"; return 1; }
			_mtu=$1
			shift
			;;
		src) [ "$#" -ge 2 ] || return 0; _src=$2; shift 2 ;;
		table) return 0 ;; # not the main table: not flannel's
		*) log "$_dev: $_dst: unexpected route attribute '$1', left alone"; return 1 ;;
		esac
	done
	[ -n "$_gw" ] || return 0 # a route without a gateway is not one of flannel's remote-subnet routes
	case $_dst in */*) _plen=${_dst#*/} _daddr=${_dst%/*} ;; *) _plen='' _daddr=$_dst ;; esac
	case $_gw in
	*:*) FAM=6 ;;
	*) FAM=4 ;;
	esac
	if [ "$FAM" = 4 ]; then
		{ v4_int "$_daddr" && v4_int "$_gw"; } || { log "$_dev: bad IPv4 route"; return 1; }
		[ -z "$_plen" ] || { valid_uint "$_plen" 2 && [ "$_plen" -le 32 ]; } || { log "$_dev: bad prefix"; return 1; }
		[ -z "$_src" ] || v4_int "$_src" || { log "$_dev: bad src"; return 1; }
	else
		{ v6_groups "$_daddr" && v6_groups "$_gw"; } || { log "$_dev: bad IPv6 route"; return 1; }
		[ -z "$_plen" ] || { valid_uint "$_plen" 3 && [ "$_plen" -le 128 ]; } || { log "$_dev: bad prefix"; return 1; }
		[ -z "$_src" ] || v6_groups "$_src" || { log "$_dev: bad src"; return 1; }
	fi

	# gateway -> VTEP MAC -> underlay IP
	_neigh=$nl$(ip -"$FAM" neigh show dev "$_dev" 2>/dev/null || true)
	_lladdr=${_neigh#*"$nl$_gw lladdr "}
	[ "$_lladdr" != "$_neigh" ] || { log "$_dev: $_dst via $_gw: no neighbour entry yet"; return 1; }
	_lladdr=${_lladdr%%[ "$nl"]*}
	valid_mac "$_lladdr" || { log "$_dev: $_dst via $_gw: bad lladdr"; return 1; }
	_fdb=$nl$(bridge fdb show dev "$_dev" 2>/dev/null || true)
	_remote=${_fdb#*"$nl$_lladdr dst "}
	[ "$_remote" != "$_fdb" ] || { log "$_dev: $_dst via $_gw: no fdb entry for $_lladdr yet"; return 1; }
	_remote=${_remote%%[ "$nl"]*}
	case $_remote in *:*) _rfam=6 ;; *) _rfam=4 ;; esac
	cloud_of "$_rfam" "$_remote" || { log "$_dev: $_dst: bad underlay address for $_lladdr"; return 1; }
	if [ -z "$OWNER" ]; then
		log "$_dev: $_dst: node $_remote is in no cloud's NODE_CIDRS, left alone"
		return 1
	fi
	[ "$OWNER" != "$CLOUD" ] || return 0 # inside this cloud: the device MTU is right
	_want=${link_mtus#*" $OWNER="}
	_want=${_want%% *}
	[ "$_mtu" != "$_want" ] || return 0

	set -- route replace "$_dst" via "$_gw" dev "$_dev"
	[ -z "$_onlink" ] || set -- "$@" onlink
	[ -z "$_proto" ] || set -- "$@" proto "$_proto"
	[ -z "$_scope" ] || set -- "$@" scope "$_scope"
	[ -z "$_metric" ] || set -- "$@" metric "$_metric"
	[ -z "$_pref" ] || set -- "$@" pref "$_pref"
	[ -z "$_src" ] || set -- "$@" src "$_src"
	if ip -"$FAM" "$@" mtu "$_want"; then
		log "$_dev: $_dst via $_gw: node $_remote in cloud $OWNER: mtu ${_mtu:-none} -> $_want"
		return 0
	fi
	log "$_dev: $_dst via $_gw: setting mtu $_want failed"
	return 1
}

# ---- every route ----
full_pass() {
	_bad=0
	for _d in $devices; do
		if [ ! -e "/sys/class/net/$_d" ]; then
			_bad=1
			continue
		fi
		_routes=$(ip route show dev "$_d" 2>/dev/null; ip -6 route show dev "$_d" 2>/dev/null) || true
		_oifs2=$IFS
		IFS=$nl
		for _r in $_routes; do
			IFS=$_oifs2
			check_route "$_d" "$_r" || _bad=1
		done
		IFS=$_oifs2
	done
	if [ "$_bad" -eq 0 ]; then
		[ -e "$ready" ] || { echo ready >"$ready.tmp" && mv -f "$ready.tmp" "$ready" && log "ready: every route via $devices carries its planned mtu"; }
	elif [ -e "$ready" ]; then
		rm -f "$ready"
		log "not ready: a route could not be checked or set"
	fi
}

log "cloud $CLOUD; devices $devices; link mtus:$link_mtus; recheck every ${RECHECK_SECONDS}s"

# Watch first, then check, so a change between the two is not missed. The watcher is a pipeline
# in the background (a foreground one would hold off the TERM trap until the next route event).
periodic_pid=
watch_pid=
# shellcheck disable=SC2317 # called from the traps
cleanup() {
	trap - EXIT INT TERM
	[ -z "$periodic_pid" ] || kill "$periodic_pid" 2>/dev/null || true
	if [ -s "$STATUS_DIR/monitor.pid" ]; then
		read -r _mpid <"$STATUS_DIR/monitor.pid" || true
		case ${_mpid:-} in '' | *[!0-9]*) ;; *) kill "$_mpid" 2>/dev/null || true ;; esac
	fi
	[ -z "$watch_pid" ] || kill "$watch_pid" 2>/dev/null || true
	rm -f "$ready" "$STATUS_DIR/monitor.pid"
}
trap 'cleanup; exit 0' INT TERM
trap cleanup EXIT

on_events() {
	while IFS= read -r _event; do
		case $_event in Deleted* | local* | broadcast* | multicast*) continue ;; esac
		for _d in $devices; do
			case " $_event " in
			*" dev $_d "*) check_route "$_d" "$_event" || rm -f "$ready" ;;
			esac
		done
	done
}
rm -f "$STATUS_DIR/monitor.pid"
{
	ip monitor route &
	echo "$!" >"$STATUS_DIR/monitor.pid"
	wait "$!"
} | on_events &
watch_pid=$!
while [ ! -s "$STATUS_DIR/monitor.pid" ]; do sleep 1; done

(
	trap - EXIT INT TERM
	while :; do
		full_pass
		sleep "$RECHECK_SECONDS"
	done
) &
periodic_pid=$!

rc=0
wait "$watch_pid" || rc=$?
watch_pid=
die "ip monitor route ended (status $rc)"

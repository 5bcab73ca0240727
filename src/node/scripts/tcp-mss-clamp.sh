#!/bin/sh
# tcp-mss-clamp: keep the TCPMSS rules of the MTU plan in mangle chains jumped to from
# POSTROUTING. flanneld installs no MSS clamp of its own.
#   FLANNEL-MTU-MSS       overlay traffic (pods, and hosts through flannel.1)
#   FLANNEL-MTU-UNDERLAY  node-to-node TCP outside the overlay (kubelet <-> API server, etcd,
#                         hostNetwork workloads) to other clouds' node subnets
# Both chains of a family are written in one iptables-restore transaction: all or nothing.
#
# Env MSS_RULES_V4, MSS_RULES_V6 (both must be set; either may be empty): newline-separated
# rule specs without "-A CHAIN", in iptables-save's canonical form, e.g.
#   -o flannel.1 -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss <mss>
# Env UNDERLAY_RULES_V4, UNDERLAY_RULES_V6 (must be set; may be empty): lines "<cloud> <rule spec>",
# e.g. "cloud-a -d <cloud-b cidr> -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss <mss>";
# a node installs the specs of its own cloud only.
# Env NODE_CIDRS (must be set): lines "<cloud> <cidr>"; HOST_IP (status.hostIP; needed when
# underlay rules are planned): the node's cloud is the one whose cidr holds HOST_IP, exactly one.
# Empty rules for a chain and family remove that chain and its jump.
set -euf

me=tcp-mss-clamp
chain=FLANNEL-MTU-MSS
uchain=FLANNEL-MTU-UNDERLAY
nl='
'
log() { printf '%s: %s\n' "$me" "$*"; }
die() { printf '%s: error: %s\n' "$me" "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

# A misspelled env name must not silently disable the clamp, so "unset" is an error.
[ "${MSS_RULES_V4+set}" = set ] || die "MSS_RULES_V4 is not set"
[ "${MSS_RULES_V6+set}" = set ] || die "MSS_RULES_V6 is not set"

# The rules go to iptables-restore on stdin, never to a command line. Only the rules the plan
# can produce are accepted, in iptables-save's canonical form (they are verified against it):
#   -o <overlay device> -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss <mss>
#   -o <overlay device> -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu
#   -d <cidr> -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss <mss>      (underlay)
# with <mss> an MTU of 576..9216 minus 40 (IPv4) or 60 (IPv6), so no other target, table, chain
# or option can reach iptables-restore.
syn='-p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS'
max_rules=1024
valid_mss() { # $1 family 4|6, $2 value: decimal without a leading zero
	case $2 in '' | 0* | *[!0-9]*) return 1 ;; esac
	h=40
	[ "$1" = 4 ] || h=60
	[ "${#2}" -le 4 ] && [ "$2" -ge $((576 - h)) ] && [ "$2" -le $((9216 - h)) ]
}
valid_overlay_dev() { # $1 family, $2 device: flannel.<vni> / flannel-wg (4), flannel-v6.<vni> / flannel-wg-v6 / flannel-wg (6, wireguard auto)
	case $1:$2 in
	4:flannel-wg | 6:flannel-wg-v6 | 6:flannel-wg) return 0 ;;
	4:flannel.* | 6:flannel-v6.*) v=${2##*.} ;;
	*) return 1 ;;
	esac
	case $v in '' | 0* | *[!0-9]*) return 1 ;; esac
	[ "${#2}" -le 15 ] && [ "${#v}" -le 8 ] && [ "$v" -le 16777215 ]
}
check_rules() { # $1 env name, $2 family 4|6, $3 kind overlay|underlay, $4 rules
	what=$1 fam=$2 kind=$3
	if [ "$kind" = overlay ]; then
		want="-o <device> $syn --set-mss <mss>' or '-o <device> $syn --clamp-mss-to-pmtu"
	else
		want="-d <cidr> $syn --set-mss <mss>"
	fi
	seen=$nl
	n=0
	IFS=$nl
	for r in $4; do
		case $r in *[!A-Za-z0-9\ ._,:/=-]*) die "$what: invalid character in rule '$r'" ;; esac
		case $seen in *"$nl$r$nl"*) die "$what: duplicate rule '$r'" ;; esac
		seen="$seen$r$nl"
		n=$((n + 1))
		[ "$n" -le "$max_rules" ] || die "$what: more than $max_rules rules"
		ok=
		word=${r#-? }
		word=${word%% *}
		mss=${r##* }
		case $kind:$r in
		overlay:"-o $word $syn --clamp-mss-to-pmtu") valid_overlay_dev "$fam" "$word" && ok=1 ;;
		overlay:"-o $word $syn --set-mss $mss") valid_overlay_dev "$fam" "$word" && valid_mss "$fam" "$mss" && ok=1 ;;
		underlay:"-d $word $syn --set-mss $mss")
			# the family's cidr: IPv6 ones hold a colon, IPv4 ones do not
			case $word in
			*[!0-9a-f.:/]*) ;;
			*:*) [ "$fam" = 6 ] && valid_mss "$fam" "$mss" && ok=1 ;;
			*) [ "$fam" = 4 ] && valid_mss "$fam" "$mss" && ok=1 ;;
			esac ;;
		esac
		[ -n "$ok" ] || die "$what: not a TCPMSS rule of the plan: '$r' (want '$want' for IPv$fam)"
	done
	unset IFS
}
check_rules MSS_RULES_V4 4 overlay "$MSS_RULES_V4"
check_rules MSS_RULES_V6 6 overlay "$MSS_RULES_V6"
# Blank lines carry nothing; a family with only blank lines counts as empty.
rules_v4=$(printf '%s\n' "$MSS_RULES_V4" | grep -v '^$' || true)
rules_v6=$(printf '%s\n' "$MSS_RULES_V6" | grep -v '^$' || true)

# ---- underlay: which cloud is this node in, and which of the rules are its own
[ "${UNDERLAY_RULES_V4+set}" = set ] || die "UNDERLAY_RULES_V4 is not set"
[ "${UNDERLAY_RULES_V6+set}" = set ] || die "UNDERLAY_RULES_V6 is not set"
[ "${NODE_CIDRS+set}" = set ] || die "NODE_CIDRS is not set"

check_cloud() { # $1 what, $2 name: a lowercase DNS label
	case $2 in
	'' | *[!a-z0-9-]* | -* | *-) die "$1: invalid cloud name '$2'" ;;
	esac
	[ "${#2}" -le 63 ] || die "$1: invalid cloud name '$2'"
}
node_clouds=$nl
IFS=$nl
for l in $NODE_CIDRS; do
	case $l in *[!a-z0-9\ .:/A-F-]* | *' '*' '* | *' ' | ' '*) die "NODE_CIDRS: '$l' is not '<cloud> <cidr>'" ;; esac
	case $l in *' '*) ;; *) die "NODE_CIDRS: '$l' is not '<cloud> <cidr>'" ;; esac
	check_cloud NODE_CIDRS "${l%% *}"
	case ${l#* } in *[!0-9a-fA-F.:/]* | */*/* | */ | /*) die "NODE_CIDRS: invalid CIDR '${l#* }'" ;; esac
	case ${l#* } in */*) ;; *) die "NODE_CIDRS: invalid CIDR '${l#* }' (no prefix length)" ;; esac
	case $node_clouds in *"$nl${l%% *}$nl"*) ;; *) node_clouds="$node_clouds${l%% *}$nl" ;; esac
done
unset IFS

# Splits "<cloud> <spec>" lines and checks every cloud's specs; each names the subnet of
# another cloud exactly as NODE_CIDRS has it (and the awk below checks those are canonical).
check_underlay() { # $1 env name, $2 family, $3 lines
	IFS=$nl
	for l in $3; do
		case $l in *' '*) ;; *) die "$1: '$l' is not '<cloud> <rule spec>'" ;; esac
		check_cloud "$1" "${l%% *}"
		case $node_clouds in *"$nl${l%% *}$nl"*) ;; *) die "$1: cloud '${l%% *}' is not in NODE_CIDRS" ;; esac
		d=${l#* -d }
		d=${d%% *}
		other=
		for n in $NODE_CIDRS; do
			if [ "${n#* }" = "$d" ] && [ "${n%% *}" != "${l%% *}" ]; then other=1; fi
		done
		[ -n "$other" ] || die "$1: '$l' does not name another cloud's subnet of NODE_CIDRS (traffic inside a cloud is not clamped)"
	done
	for c in $node_clouds; do
		check_rules "$1 ($c)" "$2" underlay "$(printf '%s\n' "$3" | sed -n "s/^$c //p")"
		IFS=$nl
	done
	unset IFS
}

# CIDR check and match in awk (busybox, mawk and gawk alike): an address becomes 16-bit groups,
# 2 for IPv4 and 8 for IPv6 ("::" expanded, a dotted IPv4 tail allowed), compared group by group
# up to the prefix length. Every cidr must be written as iptables-save prints it (inet_ntop:
# lowercase, the longest run of zero groups as "::", IPv4-mapped addresses dotted), since the
# rules are verified against that output; /0 (which iptables-save leaves out) and the
# IPv4-compatible range ::/96 (which glibc prints dotted and musl does not) are refused.
# Prints "match <cloud> <cidr>" per cidr holding the address (when host is set), or one
# "bad ..." line and exits 1. Doubles hold 16-bit groups exactly.
# shellcheck disable=SC2016 # awk program, not shell
cidr_awk='
function hex(s,   i, d, v) {
	v = 0
	for (i = 1; i <= length(s); i++) { d = index("0123456789abcdef", substr(s, i, 1)); v = v * 16 + d - 1 }
	return v
}
function v4(s, g, o,   p, i) {
	if (split(s, p, ".") != 4) return 0
	for (i = 1; i <= 4; i++) if (p[i] !~ /^(0|[1-9][0-9]?[0-9]?)$/ || p[i] + 0 > 255) return 0
	g[o + 1] = p[1] * 256 + p[2]; g[o + 2] = p[3] * 256 + p[4]
	return 2
}
# groups of one side of "::" into g[1..]; returns how many (a dotted IPv4 tail counts 2), -1 when malformed
function side(s, g, tail4,   p, n, i, o) {
	o = 0
	if (s == "") return 0
	n = split(s, p, ":")
	for (i = 1; i <= n; i++) {
		if (i == n && tail4 && p[i] ~ /[.]/) { if (!v4(p[i], g, o)) return -1; o += 2; continue }
		if (p[i] !~ /^[0-9a-f][0-9a-f]?[0-9a-f]?[0-9a-f]?$/) return -1
		g[++o] = hex(p[i])
	}
	return o
}
function v6(s, g,   p, n, i, nh, nt) {
	s = tolower(s)
	if (s !~ /^[0-9a-f:.]+$/ || s !~ /:/) return 0
	n = split(s, p, "::")
	if (n > 2) return 0
	nh = side(p[1], HEAD, n == 1)
	nt = n == 2 ? side(p[2], TAIL, 1) : 0
	if (nh < 0 || nt < 0) return 0
	if (n == 1 && nh != 8) return 0
	if (n == 2 && nh + nt > 7) return 0
	for (i = 1; i <= nh; i++) g[i] = HEAD[i]
	for (i = nh + 1; i <= 8 - nt; i++) g[i] = 0
	for (i = 1; i <= nt; i++) g[8 - nt + i] = TAIL[i]
	return 8
}
function addr(s, g) { return s ~ /:/ ? v6(s, g) : v4(s, g, 0) }
function dotted(a, b) { return int(a / 256) "." (a % 256) "." int(b / 256) "." (b % 256) }
# inet_ntop text of n groups g[1..n]; "" for the IPv4-compatible range (no single canonical form)
function canon(n, g,   i, s, bs, bl, out) {
	if (n == 2) return dotted(g[1], g[2])
	bs = 0; bl = 0
	for (i = 1; i <= 8; ) {
		if (g[i] != 0) { i++; continue }
		s = i
		while (i <= 8 && g[i] == 0) i++
		if (i - s > bl && i - s >= 2) { bs = s; bl = i - s }
	}
	if (bs == 1 && bl == 6) return ""
	out = ""
	for (i = 1; i <= 8; i++) {
		if (bs && i >= bs && i < bs + bl) { if (i == bs) out = out ":"; continue }
		if (i != 1) out = out ":"
		if (i == 7 && bs == 1 && bl == 5 && g[6] == 65535) return out dotted(g[7], g[8])
		out = out sprintf("%x", g[i])
	}
	if (bs && bs + bl == 9) out = out ":"
	return out
}
BEGIN {
	# powers of two by multiplication: busybox awk may be built without "^" (no libm)
	P[0] = 1
	for (i = 1; i <= 16; i++) P[i] = P[i - 1] * 2
	hn = 0
	if (host != "") {
		hn = addr(host, HG)
		if (!hn) { print "bad HOST_IP " host " is not an IPv4 or IPv6 address"; bad = 1; exit 1 }
	}
}
NF == 0 { next }
{
	cloud = $1; cidr = $2
	split(cidr, c, "/")
	n = addr(c[1], g)
	if (!n || c[2] !~ /^(0|[1-9][0-9]?[0-9]?)$/ || c[2] + 0 > 16 * n) { print "bad NODE_CIDRS: invalid CIDR " cidr; bad = 1; exit 1 }
	len = c[2] + 0
	if (len == 0) { print "bad NODE_CIDRS: " cidr " matches every address (and iptables-save leaves /0 out)"; bad = 1; exit 1 }
	want = canon(n, g)
	if (want == "") { print "bad NODE_CIDRS: " cidr " is in the IPv4-compatible range ::/96, which iptables prints differently on glibc and musl"; bad = 1; exit 1 }
	if (c[1] != want) { print "bad NODE_CIDRS: " cidr " is not in canonical form (iptables-save prints " want "/" len ")"; bad = 1; exit 1 }
	same = (n == hn)
	for (i = 1; i <= n; i++) {
		keep = len - 16 * (i - 1)
		if (keep >= 16) { if (g[i] != HG[i]) same = 0; continue }
		if (keep < 0) keep = 0
		d = P[16 - keep]
		if (g[i] != int(g[i] / d) * d) { print "bad NODE_CIDRS: " cidr " has host bits set"; bad = 1; exit 1 }
		if (same && int(g[i] / d) != int(HG[i] / d)) same = 0
	}
	if (same) print "match " cloud " " cidr
}
'

# Every cidr is checked, whether or not this node needs its cloud; then the rules naming them.
out=$(printf '%s\n' "$NODE_CIDRS" | awk -v host="" "$cidr_awk") ||
	die "$(printf '%s\n' "$out" | sed -n 's/^bad //p' | head -n 1)"
check_underlay UNDERLAY_RULES_V4 4 "$UNDERLAY_RULES_V4"
check_underlay UNDERLAY_RULES_V6 6 "$UNDERLAY_RULES_V6"
own=""
u_v4=""
u_v6=""
if [ -n "$(printf '%s' "$UNDERLAY_RULES_V4$UNDERLAY_RULES_V6" | tr -d '\n')" ]; then
	[ -n "${HOST_IP:-}" ] || die "HOST_IP is not set or empty (status.hostIP): cannot tell which cloud this node is in"
	case $HOST_IP in *[!0-9a-fA-F.:]*) die "HOST_IP '$HOST_IP' is not an IPv4 or IPv6 address" ;; esac
	[ "${#HOST_IP}" -le 45 ] || die "HOST_IP: longer than an IPv6 address"
	[ "$node_clouds" != "$nl" ] || die "NODE_CIDRS is empty, but underlay rules are planned"
	out=$(printf '%s\n' "$NODE_CIDRS" | awk -v host="$HOST_IP" "$cidr_awk") ||
		die "$(printf '%s\n' "$out" | sed -n 's/^bad //p' | head -n 1)"
	matched=$(printf '%s\n' "$out" | sed -n 's/^match \([^ ]*\) .*/\1/p' | sort -u)
	case $(printf '%s\n' "$matched" | grep -c .) in
	0) die "HOST_IP $HOST_IP is in no cloud's node subnets (NODE_CIDRS: $(printf '%s\n' "$NODE_CIDRS" | grep -v '^$' | tr '\n' ',' | sed 's/,$//; s/,/, /g'))" ;;
	1) own=$matched ;;
	*) die "HOST_IP $HOST_IP is in the node subnets of more than one cloud: $(printf '%s\n' "$out" | sed -n 's/^match //p' | tr '\n' ',' | sed 's/,$//; s/,/, /g')" ;;
	esac
	log "node $HOST_IP is in cloud $own ($(printf '%s\n' "$out" | sed -n "s/^match $own //p" | tr '\n' ' ' | sed 's/ $//; s/ /, /g'))"
	u_v4=$(printf '%s\n' "$UNDERLAY_RULES_V4" | sed -n "s/^$own //p")
	u_v6=$(printf '%s\n' "$UNDERLAY_RULES_V6" | sed -n "s/^$own //p")
fi
# Backend: the one the host already uses, decided like kubernetes-sigs/iptables-wrappers
# (iptables-wrapper-installer.sh @ 70d7897, whose first two steps the Go iptables-wrapper in
# the flannel image still uses): kubelet's KUBE-IPTABLES-HINT/KUBE-KUBELET-CANARY chain in
# nft mangle, else in legacy, else more "-A" lines wins, ties go to nft.
# iptables-legacy-save runs without -t: "-t mangle" would create the table in the kernel.
hint='^:(KUBE-IPTABLES-HINT|KUBE-KUBELET-CANARY)'
count() { # $1 grep -E pattern, $2.. save commands
	p=$1
	shift
	for c in "$@"; do "$c" 2>/dev/null || true; done | grep -cE "$p" || true
}
if have iptables-legacy-restore && have iptables-nft-restore; then
	if [ "$(count "$hint" iptables-nft-save ip6tables-nft-save)" -gt 0 ]; then
		b=nft why="kubelet hint chain found in nft mangle"
	elif [ "$(count "$hint" iptables-legacy-save ip6tables-legacy-save)" -gt 0 ]; then
		b=legacy why="kubelet hint chain found in legacy tables"
	else
		nl_legacy=$(count '^-' iptables-legacy-save ip6tables-legacy-save)
		nl_nft=$(count '^-' iptables-nft-save ip6tables-nft-save)
		if [ "$nl_legacy" -gt "$nl_nft" ]; then
			b=legacy why="no kubelet hint chain; legacy has more rules ($nl_legacy vs $nl_nft nft)"
		else
			b=nft why="no kubelet hint chain; nft has at least as many rules ($nl_nft vs $nl_legacy legacy, ties go to nft)"
		fi
	fi
elif have iptables-legacy-restore; then
	b=legacy why="only iptables-legacy binaries present"
elif have iptables-nft-restore; then
	b=nft why="only iptables-nft binaries present"
else
	die "neither iptables-legacy-restore nor iptables-nft-restore found"
fi
log "backend $b: $why"

mangle() { # $1 iptables|ip6tables: the mangle section of <fam>-<b>-save
	# stderr dropped: iptables-nft-save warns "iptables-legacy tables present" on every call
	out=$("$1-$b-save" 2>/dev/null) || die "$1-$b-save failed"
	printf '%s\n' "$out" | sed -n '/^\*mangle$/,/^COMMIT$/p'
}
lines() { # $1 text, $2 exact line: how often it occurs
	printf '%s\n' "$1" | grep -cxF -e "$2" || true
}
ours() { # $1 mangle section: our jumps from POSTROUTING, in order, one chain name a line
	printf '%s\n' "$1" | grep -xE -e "-A POSTROUTING -j ($chain|$uchain)" | sed 's/^-A POSTROUTING -j //' || true
}

# Both families are prepared and dry-run (restore --test) before either is committed, so a bad
# IPv6 payload leaves IPv4 untouched too.
prepare() { # $1 iptables|ip6tables, $2 overlay rules, $3 underlay rules (this node's cloud)
	fam=$1
	before=$(mangle "$fam")
	decl="" body="" want="" removed="" kept="" msgs=""
	for c in "$chain" "$uchain"; do
		if [ "$c" = "$chain" ]; then rules=$2; else rules=$3; fi
		has=$(printf '%s\n' "$before" | grep -c "^:$c " || true)
		if [ -n "$rules" ]; then
			# Declaring an existing user chain in a --noflush restore flushes it, and the whole
			# payload commits as one transaction: a failure leaves the old chains as they were,
			# a re-run replaces instead of stacking.
			decl="$decl:$c - [0:0]$nl"
			n=0
			IFS=$nl
			for r in $rules; do
				body="$body-A $c $r$nl"
				n=$((n + 1))
			done
			unset IFS
			want="$want$c$nl"
			kept="$kept${kept:+ and }$c"
			if [ "$c" = "$chain" ]; then
				msgs="$msgs$fam: $c has $n rule(s), jump from POSTROUTING present once$nl"
			else
				msgs="$msgs$fam: $c has $n rule(s) for cloud $own, jump from POSTROUTING present once$nl"
			fi
		elif [ "$has" -gt 0 ]; then
			decl="$decl:$c - [0:0]$nl"
			removed="$removed$c$nl"
			msgs="$msgs$fam: removed chain $c and $(lines "$before" "-A POSTROUTING -j $c") jump(s)$nl"
		fi
	done
	if [ -z "$decl" ]; then
		payload="" msgs="$fam: no rules planned, no chain present, nothing to remove$nl"
		return 0
	fi
	want=${want%"$nl"}
	cur=$(ours "$before")
	payload="*mangle$nl$decl$body"
	if [ "$cur" != "$want" ]; then
		# Our jumps are not exactly the planned ones, in order: replace them all (same transaction).
		IFS=$nl
		for c in $cur; do payload="$payload-D POSTROUTING -j $c$nl"; done
		i=1
		for c in $want; do
			payload="$payload-I POSTROUTING $i -j $c$nl"
			i=$((i + 1))
		done
		unset IFS
	fi
	IFS=$nl
	for c in $removed; do payload="$payload-X $c$nl"; done
	unset IFS
	payload="${payload}COMMIT"
	printf '%s\n' "$payload" | "$fam-$b-restore" -w --noflush --test ||
		die "$fam: $fam-$b-restore --test rejected the rules; nothing was changed in either family"
}

commit() { # $1 fam, $2 overlay rules, $3 underlay rules, then prepare's payload want kept removed msgs
	fam=$1 payload=$4 want=$5 kept=$6 removed=$7 msgs=$8
	if [ -z "$payload" ]; then
		printf '%s' "$msgs" | sed "s/^/$me: /"
		return 0
	fi
	if [ -n "$kept" ]; then
		printf '%s\n' "$payload" | "$fam-$b-restore" -w --noflush ||
			die "$fam: $fam-$b-restore rejected the rules; previous $kept left unchanged"
	else
		printf '%s\n' "$payload" | "$fam-$b-restore" -w --noflush ||
			die "$fam: $fam-$b-restore failed removing $(printf '%s' "$removed" | tr '\n' ' ' | sed 's/ $//; s/ / and /g')"
	fi

	after=$(mangle "$fam")
	[ "$(ours "$after")" = "$want" ] ||
		die "$fam: expected exactly one jump from POSTROUTING to each of: $(printf '%s' "$want" | tr '\n' ' ')"
	for c in "$chain" "$uchain"; do
		if [ "$c" = "$chain" ]; then rules=$2; else rules=$3; fi
		if [ -z "$rules" ]; then
			case $removed in *"$c$nl"*)
				if [ "$(printf '%s\n' "$after" | grep -c -e "$c" || true)" -ne 0 ]; then
					die "$fam: $c still referenced after removal"
				fi ;;
			esac
			continue
		fi
		n=0
		IFS=$nl
		for r in $rules; do
			[ "$(lines "$after" "-A $c $r")" -eq 1 ] ||
				die "$fam: rule not found exactly once after restore (not in iptables-save canonical form?): '$r'"
			n=$((n + 1))
		done
		unset IFS
		[ "$(printf '%s\n' "$after" | grep -c "^-A $c " || true)" -eq "$n" ] ||
			die "$fam: $c holds other rules than planned"
	done
	printf '%s' "$msgs" | sed "s/^/$me: /"
}

prepare iptables "$rules_v4" "$u_v4"
p4=$payload w4=$want k4=$kept r4=$removed m4=$msgs
# IPv6 tables are only touched when there is something to add or to remove.
if [ -n "$rules_v6$u_v6" ] || [ "$(mangle ip6tables | grep -cE "^:($chain|$uchain) " || true)" -gt 0 ]; then
	prepare ip6tables "$rules_v6" "$u_v6"
else
	payload="" want="" kept="" removed="" msgs="ip6tables: no rules planned, no chain present, nothing to remove$nl"
fi
p6=$payload w6=$want k6=$kept r6=$removed m6=$msgs
commit iptables "$rules_v4" "$u_v4" "$p4" "$w4" "$k4" "$r4" "$m4"
commit ip6tables "$rules_v6" "$u_v6" "$p6" "$w6" "$k6" "$r6" "$m6"

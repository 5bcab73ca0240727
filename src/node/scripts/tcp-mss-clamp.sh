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

# The rules go to iptables-restore on stdin, never to a command line; still allow only a
# conservative charset and no command/table options, so a rule cannot leave our chain.
check_rules() { # $1 env name, $2 rules
	seen=$nl
	IFS=$nl
	for r in $2; do
		case $r in *[!A-Za-z0-9\ ._,:/=-]*) die "$1: invalid character in rule '$r'" ;; esac
		case $r in -*) ;; *) die "$1: rule must start with an option: '$r'" ;; esac
		# The rules are verified against iptables-save output, so they must be canonical.
		case $r in *' ' | *'  '*) die "$1: stray space in rule '$r'" ;; esac
		case $seen in *"$nl$r$nl"*) die "$1: duplicate rule '$r'" ;; esac
		seen="$seen$r$nl"
		IFS=' '
		for w in $r; do
			case $w in
			-[AIDRNXFZPEt] | --append | --insert | --delete | --replace | --new-chain | \
				--delete-chain | --flush | --zero | --policy | --rename-chain | --table)
				die "$1: option '$w' not allowed in rule '$r'" ;;
			esac
		done
		IFS=$nl
	done
	unset IFS
}
check_rules MSS_RULES_V4 "$MSS_RULES_V4"
check_rules MSS_RULES_V6 "$MSS_RULES_V6"
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

# Splits "<cloud> <spec>" lines, checks every cloud's specs like the overlay rules.
check_underlay() { # $1 env name, $2 lines
	IFS=$nl
	for l in $2; do
		case $l in *' '*) ;; *) die "$1: '$l' is not '<cloud> <rule spec>'" ;; esac
		check_cloud "$1" "${l%% *}"
		case $node_clouds in *"$nl${l%% *}$nl"*) ;; *) die "$1: cloud '${l%% *}' is not in NODE_CIDRS" ;; esac
	done
	for c in $node_clouds; do
		check_rules "$1 ($c)" "$(printf '%s\n' "$2" | sed -n "s/^$c //p")"
		IFS=$nl
	done
	unset IFS
}
check_underlay UNDERLAY_RULES_V4 "$UNDERLAY_RULES_V4"
check_underlay UNDERLAY_RULES_V6 "$UNDERLAY_RULES_V6"

# CIDR match in awk (busybox, mawk and gawk alike): an address becomes 16-bit groups, 2 for
# IPv4 and 8 for IPv6 ("::" expanded, a dotted IPv4 tail allowed), compared group by group
# up to the prefix length. Prints "match <cloud> <cidr>" per cidr holding the address, or
# one "bad ..." line and exits 1. Doubles hold 16-bit groups exactly.
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
BEGIN {
	# powers of two by multiplication: busybox awk may be built without "^" (no libm)
	P[0] = 1
	for (i = 1; i <= 16; i++) P[i] = P[i - 1] * 2
	hn = addr(host, HG)
	if (!hn) { print "bad HOST_IP " host " is not an IPv4 or IPv6 address"; bad = 1; exit 1 }
}
NF == 0 { next }
{
	cloud = $1; cidr = $2
	split(cidr, c, "/")
	n = addr(c[1], g)
	if (!n || c[2] !~ /^(0|[1-9][0-9]?[0-9]?)$/ || c[2] + 0 > 16 * n) { print "bad NODE_CIDRS: invalid CIDR " cidr; bad = 1; exit 1 }
	len = c[2] + 0
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

own=""
u_v4=""
u_v6=""
if [ -n "$(printf '%s' "$UNDERLAY_RULES_V4$UNDERLAY_RULES_V6" | tr -d '\n')" ]; then
	[ -n "${HOST_IP:-}" ] || die "HOST_IP is not set or empty (status.hostIP): cannot tell which cloud this node is in"
	case $HOST_IP in *[!0-9a-fA-F.:]*) die "HOST_IP '$HOST_IP' is not an IPv4 or IPv6 address" ;; esac
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
	# Traffic inside a cloud is not clamped: a rule of a cloud never names that cloud's own subnets.
	IFS=$nl
	for r in $u_v4$nl$u_v6; do
		for l in $NODE_CIDRS; do
			[ "${l%% *}" = "$own" ] || continue
			case " $r " in *" -d ${l#* } "*) die "underlay rule of cloud $own names its own subnet ${l#* }: '$r'" ;; esac
		done
	done
	unset IFS
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

apply() { # $1 iptables|ip6tables, $2 overlay rules, $3 underlay rules (this node's cloud)
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
		log "$fam: no rules planned, no chain present, nothing to remove"
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

apply iptables "$rules_v4" "$u_v4"
# IPv6 tables are only touched when there is something to add or to remove.
if [ -n "$rules_v6$u_v6" ] || [ "$(mangle ip6tables | grep -cE "^:($chain|$uchain) " || true)" -gt 0 ]; then
	apply ip6tables "$rules_v6" "$u_v6"
else
	log "ip6tables: no rules planned, no chain present, nothing to remove"
fi

#!/bin/sh
# tcp-mss-clamp: keep the TCPMSS rules of the MTU plan in mangle chain FLANNEL-MTU-MSS,
# jumped to from POSTROUTING. flanneld installs no MSS clamp of its own.
#
# Env MSS_RULES_V4, MSS_RULES_V6 (both must be set; either may be empty): newline-separated
# rule specs without "-A CHAIN", in iptables-save's canonical form, e.g.
#   -o flannel.1 -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss <mss>
# Empty rules for a family remove our chain and jump for that family.
set -euf

me=tcp-mss-clamp
chain=FLANNEL-MTU-MSS
jump="-A POSTROUTING -j $chain"
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

apply() { # $1 iptables|ip6tables, $2 rules
	fam=$1
	rules=$2
	before=$(mangle "$fam")
	has_chain=$(printf '%s\n' "$before" | grep -c "^:$chain " || true)
	jumps=$(lines "$before" "$jump")
	if [ -z "$rules" ]; then
		if [ "$has_chain" -eq 0 ]; then
			log "$fam: no rules planned, no chain present, nothing to remove"
			return 0
		fi
		payload="*mangle$nl:$chain - [0:0]$nl"
		i=0
		while [ "$i" -lt "$jumps" ]; do
			payload="$payload-D POSTROUTING -j $chain$nl"
			i=$((i + 1))
		done
		payload="$payload-X $chain${nl}COMMIT"
		printf '%s\n' "$payload" | "$fam-$b-restore" -w --noflush ||
			die "$fam: $fam-$b-restore failed removing $chain"
		after=$(mangle "$fam")
		if [ "$(printf '%s\n' "$after" | grep -c "$chain" || true)" -ne 0 ]; then
			die "$fam: $chain still referenced after removal"
		fi
		log "$fam: removed chain $chain and $jumps jump(s)"
		return 0
	fi
	# Declaring an existing user chain in a --noflush restore flushes it, and the whole
	# payload commits as one transaction: a failure leaves the old chain as it was,
	# a re-run replaces instead of stacking.
	payload="*mangle$nl:$chain - [0:0]$nl"
	n=0
	IFS=$nl
	for r in $rules; do
		payload="$payload-A $chain $r$nl"
		n=$((n + 1))
	done
	unset IFS
	if [ "$jumps" -ne 1 ]; then
		i=0
		while [ "$i" -lt "$jumps" ]; do
			payload="$payload-D POSTROUTING -j $chain$nl"
			i=$((i + 1))
		done
		payload="$payload-I POSTROUTING 1 -j $chain$nl"
	fi
	payload="${payload}COMMIT"
	printf '%s\n' "$payload" | "$fam-$b-restore" -w --noflush ||
		die "$fam: $fam-$b-restore rejected the rules; previous $chain left unchanged"

	after=$(mangle "$fam")
	[ "$(lines "$after" "$jump")" -eq 1 ] || die "$fam: expected exactly one '$jump'"
	IFS=$nl
	for r in $rules; do
		[ "$(lines "$after" "-A $chain $r")" -eq 1 ] ||
			die "$fam: rule not found exactly once after restore (not in iptables-save canonical form?): '$r'"
	done
	unset IFS
	[ "$(printf '%s\n' "$after" | grep -c "^-A $chain " || true)" -eq "$n" ] ||
		die "$fam: $chain holds other rules than planned"
	log "$fam: $chain has $n rule(s), jump from POSTROUTING present once"
}

apply iptables "$rules_v4"
# IPv6 tables are only touched when there is something to add or to remove.
if [ -n "$rules_v6" ]; then
	apply ip6tables "$rules_v6"
elif [ "$(mangle ip6tables | grep -c "^:$chain " || true)" -gt 0 ]; then
	apply ip6tables ""
else
	log "ip6tables: no rules planned, no chain present, nothing to remove"
fi

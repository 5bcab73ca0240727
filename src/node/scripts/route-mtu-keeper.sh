#!/bin/sh
# route-mtu-keeper: keep the link's overlay MTU on flannel's routes to other clouds (mtuMode per-path).
#
# In per-path mode flannel.1, cni0 and the pods run at their own cloud's maximum (8951 in a 9001
# cloud), so a packet to a pod in another cloud must be held to the link's overlay MTU by the
# route: `ip route change <flannel's route> mtu <link overlay MTU>`. Then the node answers an
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
# and the underlay IP's cloud is the one whose NODE_CIDRS contain it (first match).
#
# Cost: a full pass dumps each table once (routes, neighbours, fdb, per family and device), joins
# them in one awk program and applies only the needed changes in one `ip -force -batch` (-force: a
# failing line does not skip the rest), so it is linear in the number of routes. Route events are
# coalesced: a burst (a flanneld restart rewrites every route) gets one full pass; a few events (a
# lease changed) get a small pass over just those routes, their neighbour and fdb entries looked
# up one by one (`ip neigh get`, `bridge fdb get`).
#
# Env (validated before anything runs; nothing unvalidated reaches a command line):
#   CLOUD            this node's cloud (a DNS label)
#   LINK_MTUS        lines "<cloud> <overlay mtu>": the link MTU toward each other cloud
#   NODE_CIDRS       lines "<cloud> <cidr>": underlay subnets of every cloud, this one included
#   OVERLAY_DEVICES  the overlay devices, e.g. "flannel.1" or "flannel.1 flannel-v6.1"
#   STATUS_DIR       where the ready file lives (an absolute path below /, writable)
#   RECHECK_SECONDS  seconds between full checks [30]
# shellcheck disable=SC3045 # read -t: the image runs this under busybox sh, which has it
set -euf

me=route-mtu-keeper
log() { printf '%s: %s\n' "$me" "$*"; }
die() { printf '%s: error: %s\n' "$me" "$*" >&2; exit 1; }

# Quiet time that ends a burst of route events, the longest a burst may delay a pass (in 1/100 s),
# and the largest burst handled route by route (bigger ones get a full pass).
QUIET=0.02
BURST_CS=200
SMALL=8
nl='
'

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

# ---- configuration ----
[ "${CLOUD+set}" = set ] || die "CLOUD is not set"
[ "${LINK_MTUS+set}" = set ] || die "LINK_MTUS is not set"
[ "${NODE_CIDRS+set}" = set ] || die "NODE_CIDRS is not set"
[ "${OVERLAY_DEVICES+set}" = set ] || die "OVERLAY_DEVICES is not set"
[ "${STATUS_DIR+set}" = set ] || die "STATUS_DIR is not set"
export CLOUD LINK_MTUS NODE_CIDRS # awk reads them from ENVIRON
valid_label "$CLOUD" || die "CLOUD: expected a lowercase DNS label, got '$CLOUD'"
RECHECK_SECONDS=${RECHECK_SECONDS:-30}
{ valid_uint "$RECHECK_SECONDS" 4 && [ "$RECHECK_SECONDS" -ge 1 ] && [ "$RECHECK_SECONDS" -le 3600 ]; } ||
	die "RECHECK_SECONDS: expected an integer 1..3600, got '$RECHECK_SECONDS'"
case $STATUS_DIR in /*) ;; *) die "STATUS_DIR: expected an absolute path, got '$STATUS_DIR'" ;; esac
case $STATUS_DIR in / | */ | *[!A-Za-z0-9/._-]* | */./* | */. | */../* | */.. | *//*) die "STATUS_DIR: unsafe path '$STATUS_DIR' (want a directory below /)" ;; esac

devices=
for d in $OVERLAY_DEVICES; do
	valid_dev "$d" || die "OVERLAY_DEVICES: invalid device name '$d'"
	case " $devices " in *" $d "*) die "OVERLAY_DEVICES: $d listed twice" ;; esac
	devices="${devices:+$devices }$d"
done
[ -n "$devices" ] || die "OVERLAY_DEVICES is empty"

# The one awk program. mode=config validates LINK_MTUS and NODE_CIDRS; mode=pass reads the table
# dump (sections from dump() below), joins route -> neighbour -> fdb -> cloud, pipes the changes
# to `ip -force -batch -` and then prints its plan; mode=report logs the outcome and exits 0 only
# if every route now carries its MTU; mode=events turns `ip monitor route` into one "e" per
# relevant event. Only validated tokens reach the batch.
# shellcheck disable=SC2016 # $1... are awk fields
prog='
function label(s) { return s ~ /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/ && length(s) <= 63 }
function uint(s, digits) { return s ~ /^(0|[1-9][0-9]*)$/ && length(s) <= digits }
function word(s) { return s ~ /^[a-z0-9_]+$/ && length(s) <= 16 }
function mac(s) { return s ~ /^[0-9a-f][0-9a-f](:[0-9a-f][0-9a-f])(:[0-9a-f][0-9a-f])(:[0-9a-f][0-9a-f])(:[0-9a-f][0-9a-f])(:[0-9a-f][0-9a-f])$/ }
# ok(fam, s): s is a dotted quad without leading zeros, or plain IPv6 (hex groups, at most one
# "::", no IPv4 tail, no zone). One regular expression for IPv4: awk is slow per operation.
function ok(fam, s) { return fam == 4 ? s ~ /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$/ : v6(s) }
# addr(fam, s): ok(fam, s), and V = the IPv4 address as an integer, or A[1..8] = the IPv6 groups
function addr(fam, s,   o) {
	if (fam == 6) return v6(s)
	if (!ok(4, s)) return 0
	split(s, o, ".")
	V = ((o[1] * 256 + o[2]) * 256 + o[3]) * 256 + o[4]
	return 1
}
function hex16(s,   i, v) {
	if (s !~ /^[0-9a-fA-F]+$/ || length(s) > 4) return -1
	s = tolower(s)
	for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
	return v + 0
}
function v6(s,   p, head, tail, h, t, nh, nt, i, k, v) {
	if (s !~ /^[0-9a-fA-F:]+$/ || s !~ /:/ || s ~ /:::/ || length(s) > 39) return 0
	p = index(s, "::")
	if (p) { head = substr(s, 1, p - 1); tail = substr(s, p + 2); if (index(tail, "::")) return 0 }
	else { head = s; tail = "" }
	if (head ~ /^:|:$/ || tail ~ /^:|:$/) return 0
	nh = head == "" ? 0 : split(head, h, ":")
	nt = tail == "" ? 0 : split(tail, t, ":")
	if (p ? nh + nt > 7 : nh != 8) return 0
	k = 0
	for (i = 1; i <= nh; i++) { v = hex16(h[i]); if (v < 0) return 0; A[++k] = v }
	while (k < 8 - nt) A[++k] = 0
	for (i = 1; i <= nt; i++) { v = hex16(t[i]); if (v < 0) return 0; A[++k] = v }
	return 1
}
# masked(i, len): IPv6 group i of A with the bits past prefix length len cleared
function masked(i, len,   b) {
	b = len - 16 * (i - 1)
	if (b >= 16) return A[i]
	if (b <= 0) return 0
	return int(A[i] / P2[16 - b]) * P2[16 - b]
}
function fail(msg) { ERR = msg; return 0 }
function config(   n, lines, i, f, nf, fam, c, k) {
	for (i = 0; i <= 32; i++) P2[i] = i ? P2[i - 1] * 2 : 1
	cloud = ENVIRON["CLOUD"]
	n = split(ENVIRON["LINK_MTUS"], lines, "\n")
	for (i = 1; i <= n; i++) {
		nf = split(lines[i], f)
		if (nf == 0) continue
		if (nf != 2) return fail("LINK_MTUS: expected \047<cloud> <mtu>\047, got \047" lines[i] "\047")
		if (!label(f[1])) return fail("LINK_MTUS: invalid cloud name \047" f[1] "\047")
		if (f[1] == cloud) return fail("LINK_MTUS: " f[1] " is this node\047s own cloud")
		if (!uint(f[2], 4) || f[2] + 0 < 576 || f[2] + 0 > 9216) return fail("LINK_MTUS: " f[1] ": invalid mtu \047" f[2] "\047 (want an integer 576..9216)")
		if (f[1] in want) return fail("LINK_MTUS: " f[1] " listed twice")
		want[f[1]] = f[2]; peers[++npeers] = f[1]; links = links " " f[1] "=" f[2]
	}
	n = split(ENVIRON["NODE_CIDRS"], lines, "\n")
	for (i = 1; i <= n; i++) {
		nf = split(lines[i], f)
		if (nf == 0) continue
		if (nf != 2) return fail("NODE_CIDRS: expected \047<cloud> <cidr>\047, got \047" lines[i] "\047")
		if (!label(f[1])) return fail("NODE_CIDRS: invalid cloud name \047" f[1] "\047")
		if (f[1] != cloud && !(f[1] in want)) return fail("NODE_CIDRS: cloud " f[1] " is neither this cloud nor in LINK_MTUS")
		if (!cidr(f[2])) return fail("NODE_CIDRS: " f[1] ": invalid CIDR \047" f[2] "\047 (want a network address and prefix length, no host bits)")
		ncidr++; ccloud[ncidr] = f[1]; cfam[ncidr] = CFAM; clen[ncidr] = CLEN
		if (CFAM == 4) { cdiv[ncidr] = P2[32 - CLEN]; cnet[ncidr] = V / P2[32 - CLEN] }
		else for (k = 1; k <= 8; k++) cnet[ncidr, k] = A[k]
		covered[f[1]] = 1
	}
	peers[0] = cloud
	for (i = 0; i <= npeers; i++) if (!(peers[i] in covered)) return fail("NODE_CIDRS: no CIDR for cloud " peers[i] ": its nodes could not be recognized")
	return 1
}
function cidr(s,   a, l, k) {
	k = index(s, "/")
	if (!k) return 0
	a = substr(s, 1, k - 1); l = substr(s, k + 1)
	CFAM = index(a, ":") ? 6 : 4
	if (!uint(l, CFAM == 4 ? 2 : 3) || l + 0 > (CFAM == 4 ? 32 : 128) || !addr(CFAM, a)) return 0
	CLEN = l + 0
	if (CFAM == 4) return V % P2[32 - CLEN] == 0
	for (k = 1; k <= 8; k++) if (masked(k, CLEN) != A[k]) return 0
	return 1
}
# owner(fam, s): the cloud whose CIDR contains address s, "" if none, "-" if s is not an address
function owner(fam, s,   c, k) {
	if (!addr(fam, s)) return "-"
	for (c = 1; c <= ncidr; c++) {
		if (cfam[c] != fam) continue
		if (fam == 4) { if (int(V / cdiv[c]) == cnet[c]) return ccloud[c]; continue }
		for (k = 1; k <= 8; k++) if (masked(k, clen[c]) != cnet[c, k]) break
		if (k > 8) return ccloud[c]
	}
	return ""
}
function problem(msg) { out[++nout] = "L " msg; nbad++ }
# lookup(cmd, dev, key, field, table): a small pass asks the kernel for one neighbour or fdb entry
# (validated tokens only) instead of dumping the table; the answer goes into table[dev, key].
function lookup(cmd, dev, key, field, table,   l, f, n, i) {
	while ((cmd | getline l) > 0) {
		n = split(l, f)
		if (f[1] != key) continue
		for (i = 2; i < n; i++) if (f[i] == "dev" && f[i + 1] != dev) break; else if (f[i] == field) { table[dev, key] = f[i + 1]; break }
	}
	close(cmd)
}
# route(dev, line): one line of `ip route show dev DEV`; queues the change it needs, if any.
function route(dev, line,   f, nf, i, rest, dst, gw, onlink, proto, scope, metric, pref, mtu, src, fam, plen, daddr, k, lladdr, remote, rfam, own, cmd) {
	nf = split(line, f)
	if (nf == 0) return
	dst = f[1]
	if (dst ~ /^(local|broadcast|multicast|unreachable|prohibit|blackhole|throw|nat|anycast|default|Deleted)$/) return
	for (i = 2; i <= nf; i++) {
		k = f[i]
		if (k == "via") { if (i == nf) return; gw = f[++i] }
		else if (k == "dev") { if (i == nf || f[i + 1] != dev) return; i++ }
		else if (k == "onlink") onlink = " onlink"
		else if (k ~ /^(linkdown|dead|pervasive|offload|trap)$/) continue
		else if (k == "proto" || k == "scope" || k == "pref") {
			if (i == nf || !word(f[i + 1])) { rest = f[i]; while (++i <= nf) rest = rest " " f[i]; return problem(dev ": skipping route \047" rest "\047: bad " k) }
			i++
			if (k == "proto") proto = " proto " f[i]; else if (k == "scope") scope = " scope " f[i]; else pref = " pref " f[i]
		}
		else if (k == "metric") { if (i == nf || !uint(f[i + 1], 10)) return problem(dev ": skipping route: bad metric"); metric = " metric " f[++i] }
		else if (k == "mtu") {
			if (f[i + 1] == "lock") return problem(dev ": " dst ": mtu is locked, left alone")
			if (i == nf || !uint(f[i + 1], 5)) return problem(dev ": " dst ": bad mtu")
			mtu = f[++i]
		}
		else if (k == "src") { if (i == nf) return; src = f[++i] }
		else if (k == "table") return # not the main table: not flannel
		else return problem(dev ": " dst ": unexpected route attribute \047" k "\047, left alone")
	}
	if (gw == "") return # a route without a gateway is not one of flannel remote-subnet routes
	fam = index(gw, ":") ? 6 : 4
	k = index(dst, "/")
	if (k) { daddr = substr(dst, 1, k - 1); plen = substr(dst, k + 1) } else { daddr = dst; plen = "" }
	if (!ok(fam, daddr) || !ok(fam, gw)) return problem(dev ": bad IPv" fam " route")
	if (plen != "" && (!uint(plen, fam == 4 ? 2 : 3) || plen + 0 > (fam == 4 ? 32 : 128))) return problem(dev ": bad prefix")
	if (src != "" && !ok(fam, src)) return problem(dev ": bad src")
	nroutes++

	# gateway -> VTEP MAC -> underlay IP -> cloud (a small pass that cannot look one up leaves the
	# whole burst to a full pass, which reports what is missing)
	if (small && !((dev, gw) in neigh)) lookup("exec ip neigh get " gw " dev " dev " 2>/dev/null", dev, gw, "lladdr", neigh)
	if (!((dev, gw) in neigh)) { if (small) refull = 1; return problem(dev ": " dst " via " gw ": no neighbour entry yet") }
	lladdr = neigh[dev, gw]
	if (!mac(lladdr)) return problem(dev ": " dst " via " gw ": bad lladdr")
	if (small && !((dev, lladdr) in fdb)) lookup("exec bridge fdb get " lladdr " dev " dev " self 2>/dev/null", dev, lladdr, "dst", fdb)
	if (!((dev, lladdr) in fdb)) { if (small) refull = 1; return problem(dev ": " dst " via " gw ": no fdb entry for " lladdr " yet") }
	remote = fdb[dev, lladdr]
	rfam = index(remote, ":") ? 6 : 4
	own = owner(rfam, remote)
	if (own == "-") return problem(dev ": " dst ": bad underlay address for " lladdr)
	if (own == "") return problem(dev ": " dst ": node " remote " is in no cloud\047s NODE_CIDRS, left alone")
	if (own == cloud) return # inside this cloud: the device MTU is right
	nremote++
	if (mtu == want[own]) return
	# change, not replace: a route deleted since it was read is not created again
	cmd = "route change " dst " via " gw " dev " dev onlink proto scope metric pref (src == "" ? "" : " src " src) " mtu " want[own]
	batch[++nchange] = cmd
	out[++nout] = "C " nchange " " dev ": " dst " via " gw ": |node " remote " in cloud " own ": mtu " (mtu == "" ? "none" : mtu) " -> " want[own] "|setting mtu " want[own] " failed"
}
BEGIN {
	if (mode == "events") { n = split(devs, f, " "); for (i = 1; i <= n; i++) watched[f[i]] = 1 }
	else if (mode != "report") {
		if (!config()) { print ERR; quit = 1; exit 1 }
		if (mode == "config") { print links; quit = 0; exit 0 }
	}
}
mode == "events" {
	if (NR == 1) { print "pid " $1; fflush(); next }
	if ($1 ~ /^(local|broadcast|multicast)$/ || $2 ~ /^(local|broadcast|multicast)$/) next
	for (i = 2; i < NF; i++) if ($i == "dev" && ($(i + 1) in watched)) { print "r " $0; fflush(); next }
	next
}
mode == "pass" {
	if ($1 == "@dev") { dev = $2; sect = ""; devlist = devlist "," dev }
	else if ($1 == "@missing") problem(dev ": no such device")
	else if ($1 == "@fail") { sub(/^@fail /, ""); problem(dev ": " $0 " failed") }
	else if ($1 == "@end") ended = 1
	else if ($0 ~ /^@(route|neigh|fdb)$/) sect = substr($0, 2)
	else if (sect == "route" && !small) { nr++; rdev[nr] = dev; rline[nr] = $0 }
	else if (sect == "route") {
		# route events: the last one per route (dst and metric) tells its state; Deleted: gone
		line = $0
		if ($1 == "Deleted") sub(/^Deleted /, "", line)
		n = split(line, f)
		key = dev " " f[1]
		for (i = 2; i < n; i++) if (f[i] == "metric") key = key " " f[i + 1]
		if (!(key in seen)) { seen[key] = ++nr; rdev[nr] = dev }
		rline[seen[key]] = $1 == "Deleted" ? "" : line
	}
	else if (sect == "neigh") { if ($2 == "lladdr" && !((dev, $1) in neigh)) neigh[dev, $1] = $3 }
	else if (sect == "fdb") { if ($2 == "dst" && !((dev, $1) in fdb)) fdb[dev, $1] = $3 }
	next
}
mode == "report" {
	# first the output of ip -batch (if any), then the plan of the pass
	if (!plan) {
		if ($0 == "@plan") { plan = 1; next }
		if ($0 ~ /^Command failed -:[0-9]+$/) { sub(/^Command failed -:/, ""); failed[$0] = errs == "" ? "" : ": " errs; errs = "" }
		else if ($0 ~ /^[0-9]+: lo: /) finished = 1
		else if ($0 !~ /^ /) errs = errs == "" ? $0 : errs "; " $0
		next
	}
	if ($1 == "L") { if (++nprob <= 50) print me ": " substr($0, 3); else if (nprob == 51) print me ": (further problems in this pass not shown)" }
	else if ($1 == "C") {
		split(substr($0, 3 + length($2) + 1), m, "|")
		if (!finished && !($2 in failed)) failed[$2] = ": ip -batch stopped before this line"
		if ($2 in failed) { nfail++; print me ": " m[1] m[3] failed[$2] } else { nset++; print me ": " m[1] m[2] }
	}
	else if ($1 == "S") { status = $0; split($0, s, " ") }
	else if ($1 == "F") { quit = 2; exit 2 }
	next
}
END {
	if (quit != "") exit quit
	if (mode == "events") { print "end"; exit }
	if (mode == "pass") {
		if (!ended) problem("the table dump did not complete")
		for (i = 1; i <= nr; i++) route(rdev[i], rline[i])
		if (refull) { print "@plan"; print "F"; exit }
		if (nchange) {
			# one batch; -force: a failing line does not skip the rest. The last line proves that
			# ip read every line (an unparsable line would end the batch even with -force).
			cmd = "exec ip -force -batch - 2>&1"
			for (i = 1; i <= nchange; i++) print batch[i] | cmd
			print "link show dev lo" | cmd
			close(cmd)
		}
		print "@plan"
		for (i = 1; i <= nout; i++) print out[i]
		print "S " nroutes + 0 " " nremote + 0 " " nchange + 0 " " nbad + 0 " " substr(devlist, 2) " " (small ? "small" : "full")
		exit
	}
	if (status == "") { print me ": error: no result from the pass"; exit 1 }
	if (s[7] == "full" && (s[4] + 0 || s[5] + 0)) print me ": pass over " s[6] ": " s[2] " routes (" s[3] " to other clouds), " nset + 0 " set, " nfail + 0 " failed, " s[5] " not checked"
	# 0: every route right and nothing had to change; 3: right after changes; 1: not right
	exit (s[5] + 0 || nfail) ? 1 : s[4] + 0 ? 3 : 0
}'

links=$(awk -v mode=config -- "$prog") || die "${links:-awk -v mode=config failed}"

# ---- one pass over every route ----
v6=
[ ! -e /proc/net/if_inet6 ] || v6=1 # no IPv6 tables to dump when the kernel has IPv6 disabled
dump() {
	for _d in $devices; do
		echo "@dev $_d"
		[ -e "/sys/class/net/$_d" ] || { echo "@missing"; continue; }
		echo "@route"
		ip -4 route show dev "$_d" || echo "@fail ip -4 route show"
		[ -z "$v6" ] || ip -6 route show dev "$_d" || echo "@fail ip -6 route show"
		echo "@neigh"
		ip -4 neigh show dev "$_d" || echo "@fail ip -4 neigh show"
		[ -z "$v6" ] || ip -6 neigh show dev "$_d" || echo "@fail ip -6 neigh show"
		echo "@fdb"
		bridge fdb show dev "$_d" || echo "@fail bridge fdb show"
	done
	echo "@end"
}
ready=$STATUS_DIR/ready
tables=$STATUS_DIR/tables
checked=$STATUS_DIR/tables.checked
# check BURST: a pass. BURST is empty (every route: dump the tables) or up to SMALL route event
# lines (only those routes, their neighbour and fdb entries looked up one by one). A small pass
# runs only while ready (it cannot tell whether the other routes are fine) and leaves anything it
# cannot resolve to a full pass.
# A full pass is a function of the dump alone: a dump byte for byte the same as the last one that
# needed nothing (kept as $checked) needs nothing again, without the awk join that is most of an
# idle recheck's CPU.
check() {
	if [ -n "$1" ] && [ -e "$ready" ]; then
		_rc=0
		{
			for _d in $devices; do printf '@dev %s\n@route\n%s' "$_d" "$1"; done
			echo "@end"
		} | awk -v mode=pass -v small=1 -- "$prog" | awk -v mode=report -v me="$me" -- "$prog" || _rc=$?
		case $_rc in
		0 | 3) return 0 ;;
		1) not_ready && return 0 ;;
		esac
	fi
	if ! dump >"$tables"; then
		rm -f "$tables"
		log "cannot write $tables"
		not_ready
		return 0
	fi
	_rc=0
	cmp -s "$tables" "$checked" || awk -v mode=pass -- "$prog" <"$tables" | awk -v mode=report -v me="$me" -- "$prog" || _rc=$?
	if [ "$_rc" = 0 ]; then mv -f "$tables" "$checked"; else rm -f "$tables"; fi
	case $_rc in
	0 | 3)
		[ -e "$ready" ] && return 0
		{ echo ready >"$ready.tmp" && mv -f "$ready.tmp" "$ready"; } || die "cannot write $ready"
		log "ready: every route via $devices carries its planned mtu"
		;;
	*) not_ready ;;
	esac
}
not_ready() {
	[ -e "$ready" ] || return 0
	rm -f "$ready"
	log "not ready: a route could not be checked or set"
}

# next_event SECONDS: _ev = the next line of the watcher, waiting up to SECONDS for it to begin.
# busybox read -t reads byte by byte and, when its time runs out in the middle of a line (a busy
# node can stall the shell for longer than QUIET), drops what it read: the line's tail would be
# read as the next event. So only the first character is waited for; the watcher writes each line
# whole, and the rest of it has 5 s. A line lost anyway ends the burst early: a full pass follows.
next_event() {
	read -r -t "$1" -n 1 _c <&3 || return 1
	IFS= read -r -t 5 _rest <&3 || return 1
	_ev=$_c$_rest
}

# now_cs: NOW = uptime in centiseconds (a clock without a fork)
now_cs() {
	read -r _up _ </proc/uptime
	_up=${_up%.*}${_up#*.}
	_up=${_up#"${_up%%[!0]*}"}
	NOW=${_up:-0}
}

# ---- start ----
command -v bridge >/dev/null || die "bridge (iproute2) not found"
ip -force -batch - </dev/null || die "ip does not take -force -batch: iproute2 is needed"
# next_event needs read -n (busybox ash and bash have it): without it every wait would fail at once
printf 'ab\n' | { read -r -n 1 _c && [ "$_c" = a ]; } 2>/dev/null || die "this shell's read does not take -n (busybox sh is needed)"
mkdir -p "$STATUS_DIR" || die "STATUS_DIR: cannot create '$STATUS_DIR'"
events=$STATUS_DIR/events
rm -f "$ready" "$events" "$tables" "$checked"
mkfifo "$events" || die "STATUS_DIR: '$STATUS_DIR' is not writable"
exec 3<>"$events" # read-write: opening never blocks, and the watcher below writes to it
rm -f "$events"

log "cloud $CLOUD; devices $devices; link mtus$links; recheck every ${RECHECK_SECONDS}s"

# Watch first, then check, so a change between the two is not missed. The watcher prints its
# `ip monitor` pid, then "r <event>" per route event on an overlay device, then "end".
filter_pid=
monitor_pid=
# shellcheck disable=SC2317 # called from the traps
cleanup() {
	trap - EXIT INT TERM
	[ -z "$filter_pid" ] || kill "$filter_pid" 2>/dev/null || true
	[ -z "$monitor_pid" ] || kill "$monitor_pid" 2>/dev/null || true
	rm -f "$ready" "$ready.tmp" "$tables" "$checked"
}
trap 'cleanup; exit 0' INT TERM
trap cleanup EXIT
# shellcheck disable=SC2016 # $$ is the inner shell's
sh -c 'echo "$$"; exec ip monitor route' | awk -v mode=events -v devs="$devices" -- "$prog" >&3 &
filter_pid=$!
read -r -t 10 _w _pid <&3 || die "the route watcher did not start"
case $_w in pid) ;; *) die "the route watcher did not start (${_w:-no output})" ;; esac
{ valid_uint "$_pid" 10 && [ "$_pid" -gt 1 ]; } || die "the route watcher did not start (pid '$_pid')"
monitor_pid=$_pid
# The first pass waits (1 s at most) until ip monitor has joined the route groups: its netlink
# socket (port id = its pid) shows them in /proc/net/netlink. A change between the first dump and
# that moment would otherwise go unseen until the recheck; flanneld, starting next to the keeper,
# programs its routes right then.
_i=0
while [ "$_i" -lt 50 ] && ! awk -v p="$monitor_pid" '$2 == 0 && $3 == p && $4 != "00000000" { f = 1 } END { exit !f }' /proc/net/netlink; do
	sleep 0.02
	_i=$((_i + 1))
done

check ""
while :; do
	burst=
	if next_event "$RECHECK_SECONDS"; then
		# coalesce: take events until QUIET passes without one (at most BURST_CS), then one pass;
		# more than SMALL events (a flanneld restart rewrites every route) make it a full pass
		now_cs
		_until=$((NOW + BURST_CS))
		_n=0
		while :; do
			case $_ev in
			"r "*)
				_n=$((_n + 1))
				[ "$_n" -gt "$SMALL" ] || burst="$burst${_ev#r }$nl"
				;;
			end) die "ip monitor route ended" ;;
			esac
			if [ "$NOW" -ge "$_until" ] || ! next_event "$QUIET"; then break; fi
			now_cs
		done
		[ "$_n" -le "$SMALL" ] || burst=
	fi
	kill -0 "$filter_pid" 2>/dev/null || die "the route watcher ended"
	check "$burst"
done

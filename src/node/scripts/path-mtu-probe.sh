# path-mtu-probe: measure the underlay path MTU from this node to a node in every other cloud
# and compare it with the MTU the plan was derived from. It only sends pings; it changes nothing.
#
# Env (set from the plan; validated below):
#   PROBE_CLOUD     this DaemonSet's cloud (each cloud's probe runs on that cloud's nodeSelector)
#   PROBE_TARGETS   lines "<link> <to-cloud> <family 4|6> <peer-ip>[,<peer-ip>...] <declared-path-mtu> <max-mtu>"
#                   (peers: the other cloud's declared nodes of the family, 1..256, in the file's order;
#                   max-mtu: the smaller NIC MTU of the two ends, the search's upper bound;
#                   link: a DNS label, or "<cloud>~<cloud>" for an unnamed link)
#   NODE_NAME       this node's name (downward API spec.nodeName): picks the peer it measures toward,
#                   peer number cksum(NODE_NAME) mod <peers> (POSIX cksum, computed in awk), so the
#                   nodes of a cloud spread over the peers and each node keeps its peer across rounds.
#                   A peer that does not answer even the smallest ping is skipped for the next ones
#                   in the list (at most PEER_TRIES = 3 peers per target and round)
#   PROBE_MARGIN    bytes above the declared value that count as wasted MTU (0..1000)
#   PROBE_INTERVAL  seconds between rounds (10..86400); 0 = one round, then exit 0 if healthy, 3 if not
#   PROBE_STATUS    file written after each round: "healthy", or the problems; the readiness probe
#                   reads it. It must be "<dir>/path-mtu-probe/status" (its own directory, which exists)
#   PROBE_METRICS_DIR  optional: node-exporter's textfile collector directory; after each round the
#                   Prometheus metrics of every target replace flannel-mtu-probe.prom there (written
#                   to a dot file first and renamed, so node-exporter never reads half a file)
#
# A DF ping of S bytes on the wire gets an answer only when S fits every hop. busybox ping has no
# -M option, but with the kernel default ip_no_pmtu_disc=0 its packets carry DF when they fit the
# local route MTU. Where the network does return ICMP "fragmentation needed", the kernel caches the
# path MTU for the peer and fragments larger pings locally, which would make them succeed; so a
# cached route MTU is read with `ip route get` and taken as an upper bound: it is itself a measurement.
set -euf

fail() { echo "path-mtu-probe: $*" >&2; exit 1; }
# in_range VALUE MIN MAX: decimal without a leading zero (no octal), at most 5 digits, MIN..MAX
in_range() {
  case "$1" in 0) ;; '' | 0* | *[!0-9]*) return 1 ;; esac
  [ "${#1}" -le 5 ] && [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]
}
is_label() {
  case "$1" in '' | -* | *- | *[!a-z0-9-]*) return 1 ;; esac
  [ "${#1}" -le 63 ]
}
# a link's name: a DNS label, or the default "<cloud>~<cloud>"
is_link() { case "$1" in *~*~*) return 1 ;; *~*) is_label "${1%~*}" && is_label "${1#*~}" ;; *) is_label "$1" ;; esac; }
is_ip() {
  case "$1" in '' | *[!0-9a-fA-F.:]*) return 1 ;; esac
  [ "${#1}" -le 45 ]
}

case "${NODE_NAME:-}" in '' | *[!a-z0-9.-]*) fail "NODE_NAME: expected the node's name (spec.nodeName), got '${NODE_NAME:-}'" ;; esac
[ "${#NODE_NAME}" -le 253 ] || fail "NODE_NAME: longer than 253 characters"
is_label "${PROBE_CLOUD:-}" || fail "PROBE_CLOUD: expected a cloud name, got '${PROBE_CLOUD:-}'"
in_range "${PROBE_MARGIN:-}" 0 1000 || fail "PROBE_MARGIN: expected a byte count 0..1000, got '${PROBE_MARGIN:-}'"
in_range "${PROBE_INTERVAL:-}" 0 86400 || fail "PROBE_INTERVAL: expected seconds 0..86400, got '${PROBE_INTERVAL:-}'"
case "${PROBE_STATUS:-}" in
*[!A-Za-z0-9._/-]* | *//* | *..*) fail "PROBE_STATUS: expected <dir>/path-mtu-probe/status, got '${PROBE_STATUS:-}'" ;;
/path-mtu-probe/status | /*/path-mtu-probe/status) ;;
*) fail "PROBE_STATUS: expected <dir>/path-mtu-probe/status, got '${PROBE_STATUS:-}'" ;;
esac
if [ ! -d "${PROBE_STATUS%/*}" ] || [ ! -w "${PROBE_STATUS%/*}" ]; then
  fail "PROBE_STATUS: directory ${PROBE_STATUS%/*} does not exist or is not writable"
fi
case "${PROBE_METRICS_DIR:-}" in
  '') ;;
  /*[!A-Za-z0-9._/-]* | *..*) fail "PROBE_METRICS_DIR: expected an absolute path of letters, digits, '._/-', got '$PROBE_METRICS_DIR'" ;;
  /*)
    # Metrics are secondary: without their directory the probe still measures and reports.
    if [ ! -d "$PROBE_METRICS_DIR" ]; then
      echo "path-mtu-probe: PROBE_METRICS_DIR '$PROBE_METRICS_DIR' is not a directory: no metrics" >&2
      PROBE_METRICS_DIR=
    fi
    ;;
  *) fail "PROBE_METRICS_DIR: expected an absolute path, got '$PROBE_METRICS_DIR'" ;;
esac

# Validate every target line before sending anything.
targets=$(printf '%s\n' "${PROBE_TARGETS:-}" | sed '/^[[:space:]]*$/d')
[ -n "$targets" ] || fail "PROBE_TARGETS: no targets"
[ "$(printf '%s\n' "$targets" | wc -l)" -le 1024 ] || fail "PROBE_TARGETS: more than 1024 targets"
printf '%s\n' "$targets" | while read -r link to family peers declared max extra; do
  if ! is_link "$link" || ! is_label "$to"; then fail "PROBE_TARGETS: bad link or cloud name in '$link $to'"; fi
  case "$family" in 4) lo=576 ;; 6) lo=1280 ;; *) fail "PROBE_TARGETS: family must be 4 or 6, got '$family'" ;; esac
  case "$peers" in '' | ,* | *, | *,,*) fail "PROBE_TARGETS: bad peer list '$peers'" ;; esac
  n=0
  for peer in $(printf '%s' "$peers" | tr , ' '); do
    is_ip "$peer" || fail "PROBE_TARGETS: bad peer address '$peer'"
    case "$peer" in *:*) v=6 ;; *) v=4 ;; esac
    [ "$v" = "$family" ] || fail "PROBE_TARGETS: peer '$peer' is not an IPv$family address"
    n=$((n + 1))
  done
  [ "$n" -le 256 ] || fail "PROBE_TARGETS: more than 256 peers toward $to"
  if ! in_range "$max" "$lo" 9216 || ! in_range "$declared" "$lo" "$max" || [ -n "${extra:-}" ]; then
    fail "PROBE_TARGETS: expected '<link> <to> <family> <ip>[,<ip>...] <declared> <max>' with $lo <= declared <= max <= 9216, got '$link $to $family $peers $declared $max${extra:+ $extra}'"
  fi
done

# Each target's peers in the order this node tries them: from number cksum(NODE_NAME) mod <peers>
# on, wrapping around, at most PEER_TRIES of them. The CRC is POSIX cksum's (polynomial 0x04C11DB7,
# then the length, then inverted), in awk because the image's busybox need not have cksum.
PEER_TRIES=3
targets=$(printf '%s\n' "$targets" | awk -v name="$NODE_NAME" -v tries="$PEER_TRIES" '
  function crc8(crc, byte, b) {
    crc = xor(crc, lshift(byte, 24))
    for (b = 0; b < 8; b++) crc = and(crc, 2147483648) ? xor(and(lshift(crc, 1), 4294967295), 79764919) : and(lshift(crc, 1), 4294967295)
    return crc
  }
  BEGIN {
    for (i = 1; i < 128; i++) ord[sprintf("%c", i)] = i
    for (i = 1; i <= length(name); i++) crc = crc8(crc, ord[substr(name, i, 1)])
    for (len = length(name); len > 0; len = int(len / 256)) crc = crc8(crc, len % 256)
    hash = xor(crc, 4294967295)
  }
  {
    n = split($4, peer, ",")
    order = peer[hash % n + 1]
    for (i = 1; i < n && i < tries; i++) order = order "," peer[(hash + i) % n + 1]
    $4 = order
    print
  }')

# cached_mtu FAMILY PEER: the path MTU the kernel learned from ICMP for PEER, or nothing.
cached_mtu() {
  ip "-$1" route get "$2" 2> /dev/null | sed -n 's/.* mtu \([0-9][0-9]*\).*/\1/p' | head -n 1
}

# fits FAMILY PEER SIZE: does a packet of SIZE bytes on the wire cross the path? Two tries (one
# loss is not a verdict); a size above a learned path MTU does not fit even when its ping was
# answered, because the kernel then fragments it locally.
fits() {
  headers=28
  [ "$1" = 6 ] && headers=48
  for _ in 1 2; do
    cached=$(cached_mtu "$1" "$2")
    if [ -n "$cached" ] && [ "$3" -gt "$cached" ]; then return 1; fi
    if ping "-$1" -c 1 -W 1 -s "$(($3 - headers))" "$2" > /dev/null 2>&1; then
      cached=$(cached_mtu "$1" "$2")
      if [ -n "$cached" ] && [ "$3" -gt "$cached" ]; then return 1; fi
      return 0
    fi
  done
  return 1
}

# measure FAMILY PEER MAX: largest working packet size by binary search (at most ~2 x 14 pings).
measure() {
  lo=576
  [ "$1" = 6 ] && lo=1280
  hi=$3
  fits "$1" "$2" "$lo" || { echo 0; return; }
  while [ "$lo" -lt "$hi" ]; do
    mid=$(((lo + hi + 1) / 2))
    if fits "$1" "$2" "$mid"; then lo=$mid; else hi=$((mid - 1)); fi
  done
  echo "$lo"
}

# write_metrics RESULTS: the round's JSON lines as Prometheus text (one awk program; the values
# were validated above, so labels need no escaping), grouped per metric family as the format wants.
write_metrics() {
  [ -n "${PROBE_METRICS_DIR:-}" ] || return 0
  tmp="$PROBE_METRICS_DIR/.flannel-mtu-probe.prom.tmp"
  if printf '%s\n' "$1" | awk -v now="$(date +%s)" '
    function field(line, key) {
      if (match(line, "\"" key "\":\"[^\"]*\"")) return substr(line, RSTART + length(key) + 4, RLENGTH - length(key) - 5)
      if (match(line, "\"" key "\":[0-9]+")) return substr(line, RSTART + length(key) + 3, RLENGTH - length(key) - 3)
      return ""
    }
    function emit(name, help, series, count, i) {
      print "# HELP " name " " help
      print "# TYPE " name " gauge"
      for (i = 1; i <= count; i++) print name "{" series[i]
    }
    /^\{"probe":"path-mtu"/ {
      labels = sprintf("from=\"%s\",to=\"%s\",link=\"%s\",family=\"%s\",peer=\"%s\"", field($0, "from"), field($0, "to"), field($0, "link"), field($0, "family"), field($0, "peer"))
      n++
      measured[n] = labels "} " field($0, "measured")
      declared[n] = labels "} " field($0, "declared")
      seconds[n] = labels "} " field($0, "seconds")
      unanswered[n] = labels "} " field($0, "unanswered")
      last[n] = labels "} " now
      split("healthy too-small wasted unreachable", all, " ")
      for (i = 1; i <= 4; i++) states[++m] = labels ",status=\"" all[i] "\"} " (all[i] == field($0, "status") ? 1 : 0)
    }
    END {
      emit("flannel_mtu_probe_measured_path_mtu_bytes", "Largest packet that crossed the path in the last round, 0 when the peer did not answer.", measured, n)
      emit("flannel_mtu_probe_declared_path_mtu_bytes", "Path MTU the MTU plan was derived from.", declared, n)
      emit("flannel_mtu_probe_status", "Result of the last round: 1 for the current status, 0 for the others.", states, m)
      emit("flannel_mtu_probe_unanswered_peers", "Peers tried in the last round that answered no ping at all (skipped for the next ones; peer is the one measured).", unanswered, n)
      emit("flannel_mtu_probe_measure_duration_seconds", "Time the last measurement of the path took.", seconds, n)
      emit("flannel_mtu_probe_last_round_timestamp_seconds", "Unix time the last round of the path ended.", last, n)
    }' > "$tmp" && mv -f "$tmp" "$PROBE_METRICS_DIR/flannel-mtu-probe.prom"; then
    return 0
  fi
  rm -f "$tmp"
  echo "path-mtu-probe: cannot write metrics to $PROBE_METRICS_DIR" >&2
}

while :; do
  results=$(printf '%s\n' "$targets" | while read -r link to family peers declared max; do
    started=$(date +%s)
    # Only a peer that answers nothing is skipped: one that answers small pings but not the
    # declared size is the path being too small, whichever peer is asked.
    unanswered=0
    for peer in $(printf '%s' "$peers" | tr , ' '); do
      measured=$(measure "$family" "$peer" "$max")
      [ "$measured" -eq 0 ] || break
      unanswered=$((unanswered + 1))
    done
    # none answered: reported toward this node's own peer, the first one it tried
    [ "$measured" -ne 0 ] || peer=${peers%%,*}
    if [ "$measured" -eq 0 ]; then
      status=unreachable
    elif [ "$measured" -lt "$declared" ]; then
      status=too-small
    elif [ "$measured" -gt $((declared + PROBE_MARGIN)) ]; then
      status=wasted
    else
      status=healthy
    fi
    printf '{"probe":"path-mtu","from":"%s","to":"%s","link":"%s","family":"ipv%s","peer":"%s","unanswered":%s,"declared":%s,"measured":%s,"status":"%s","seconds":%s}\n' \
      "$PROBE_CLOUD" "$to" "$link" "$family" "$peer" "$unanswered" "$declared" "$measured" "$status" "$(($(date +%s) - started))"
  done)
  printf '%s\n' "$results"
  problems=$(printf '%s\n' "$results" | grep -v '"status":"healthy"' || true)
  # written whole, then renamed: the readiness probe never reads half a file
  if [ -z "$problems" ]; then echo healthy > "$PROBE_STATUS.tmp"; else printf '%s\n' "$problems" > "$PROBE_STATUS.tmp"; fi
  mv -f "$PROBE_STATUS.tmp" "$PROBE_STATUS"
  write_metrics "$results"
  if [ "$PROBE_INTERVAL" -eq 0 ]; then
    [ -z "$problems" ] && exit 0
    exit 3
  fi
  sleep "$PROBE_INTERVAL"
done

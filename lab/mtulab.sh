#!/usr/bin/env bash
# lab/mtulab.sh: network-namespace lab engine for flannel-mtu.
#
# Rebuilds the MTU incident of DESIGN.md section 1 on the real kernel (recipe and findings:
# shared/reference/netns-lab-notes.md) and checks the numbers flannel-mtu generates.
# Needs root, iproute2, iptables (legacy + nft), iputils ping, curl, iperf3, node.
#
# TOPOLOGY (namespaces are named "$LAB_ID-<role>"; nothing is linked to the host namespace, no
# namespace has a default route):
#
#   podA               nodeA                          wanA       wanB      nodeB                          podB
#   eth0 10.245.1.2 == vethpa|cni0 10.245.1.1/24                              cni0 10.245.2.1/24|vethpb == eth0 10.245.2.2
#                      flannel.<VNI> 10.245.1.0/32 (vxlan)                    flannel.<VNI> 10.245.2.0/32
#                      eth0 192.168.100.2 == wan-a .100.1  sdw0 ==PATH_MTU== sdw1  wan-b .200.1 == eth0 192.168.200.2
#                      (NIC_MTU_A on both ends)           10.245.254.1/30 .2/30     (NIC_MTU_B on both ends)
#
#   The reduced-MTU link sits between two routers with the same MTU on both ends (a veth silently
#   drops non-GSO frames bigger than its own MTU at ingress; see the notes, "Why two routers").
#   HTTP receivers (lab/http-server.js, port HTTP_PORT) run in podA, nodeA, podB and nodeB.
#
# WAN MODELS (WAN_MODEL):
#   icmp  (default) vxlan `df set`; the routers drop the ICMP "fragmentation needed" they generate
#         (PMTUD blackhole, as in the incident).
#   frags vxlan `df unset` (flannel's real setting); the routers fragment the outer packet and the
#         WAN loses non-first fragments (`-A FORWARD -i sdwX -f -j DROP` on the receiving router).
#         The notes dropped them on nodeB's raw PREROUTING; doing it on the routers is equivalent on
#         the wire and keeps the nodes' iptables empty, so the clamp script's backend detection
#         only sees what IPT_BACKEND seeded.
#   open  vxlan `df unset`, routers fragment and lose nothing: the control (large POSTs work at any
#         overlay MTU; DF pings through the overlay are blind here).
#   ICMP_BLACKHOLE=1 (default) drops ICMP frag-needed on both routers in every model; 0 lets it through.
#
# ENVIRONMENT (config; `up` takes them, `reconfig` changes them in place, the state remembers them)
#   NIC_MTU_A, NIC_MTU_B      node NIC MTU (eth0 and the router end of that link)       [1400]
#   PATH_MTU                  MTU of the SD-WAN link between the two routers            [1380]
#   WAN_MODEL                 icmp | frags | open                                       [icmp]
#   ICMP_BLACKHOLE            1 | 0                                                     [1]
#   OVERLAY_MTU_A, _B         flannel.<VNI> MTU on that node, as flannel sets it        [NIC_MTU - 50]
#   POD_MTU_A, _B             cni0 + host veth + pod eth0 MTU (FLANNEL_MTU via the CNI)  [OVERLAY_MTU]
#   ROUTE_MTU_A, _B           `mtu` on node A|B's route to the other node's pod subnet via
#                             flannel.<VNI> (per-path mode, notes addendum); empty = none [empty]
#   VNI, VXLAN_PORT           vxlan id and UDP port, `up` only                          [1, 8472]
#   BACKEND                   vxlan | wireguard, `up` only (see WIREGUARD below)         [vxlan]
#   WG_MODE                   separate | ipv4 | ipv6, `up` only: flannel's wireguard Mode [separate]
#   IPV6                      1 = dual-stack: IPv6 on the underlay and the pods, `up` only;
#                             wireguard only (the vxlan lab is IPv4)                     [0]
#   PATH_MTU_V6               IPv6 MTU of the SD-WAN link (net.ipv6.conf.sdwX.mtu)        [PATH_MTU]
#   HTTP_PORT, IPERF_PORT     receivers' ports, `up` only for HTTP                       [8888, 5201]
# WIREGUARD (BACKEND=wireguard): the devices flannel's wireguard backend creates, made by Debian's
#   userspace wireguard-go (no kernel module needed) and configured with `wg setconf` as flanneld
#   does: `flannel-wg` (listen 51820, peer endpoint the other node's IPv4 underlay address, allowed
#   IPs its pod subnet) and, with IPV6=1 in WG_MODE=separate, `flannel-wg-v6` (51821, IPv6
#   endpoints, the IPv6 pod subnets). WG_MODE=ipv4 | ipv6 is flannel's single tunnel carrying both
#   families over that underlay family; flannel's `auto` picks one of the two per peer (IPv4 unless
#   the peer's IPv4 address is private and its IPv6 one is not). Every device gets OVERLAY_MTU_A|B
#   [NIC_MTU - 80, as flannel does]; the routes to the cluster networks go `dev` the device, and the
#   IPv4 device holds the node's 10.245.X.0/32. wireguard-go's control socket
#   (/var/run/wireguard/<dev>.sock) is not per network namespace, so each wireguard-go runs in its
#   own mount namespace with a private tmpfs on /run, and `wg` joins it with nsenter: every node's
#   device keeps flannel's name, and labs running at the same time never see each other's sockets.
#   With IPV6=1 there are IPv6 targets podA6, podB6 (the pods' fd00:10:245:X::2, from pods) and
#   nodeA-ul6, nodeB-ul6 (the underlay's fd00:192:168:X00::2, from nodes); the routers drop the
#   ICMPv6 "packet too big" they generate (ICMP_BLACKHOLE=1), and WAN_MODEL=frags loses IPv6
#   fragments on the WAN too.
# Lab identity and run control
#   LAB_ID                    lab name, must start with "fmlab-"; namespaces are "$LAB_ID-<role>".
#                             `up`/`run` default to fmlab-<pid>; every other command requires it.
#   LAB_STATE_ROOT            state directory root (pids, logs, config)                 [/run/fmlab]
#   LAB_OWNER_PID             `up` starts a watchdog that runs `down` when this PID dies
#                             (call the script with execFile, not through `sh -c`); 0 = none [$PPID]
#   POST_TIMEOUT              curl -m seconds for post/get                              [3]
#   PING_WAIT                 ping -W seconds per DF probe                              [0.3]
#   IPERF_SECONDS, IPERF_GSO  iperf3 -t; GSO off = gso_max_segs 1 on the sender path    [2, off]
#   CLAMP_SCRIPT              POSIX sh script run in each node netns by `clamp`
#   CLAMP_ENV                 file of NAME=value lines passed to it, plus NODE_NAME=nodeA|nodeB and
#                             HOST_IP=<the node's underlay address> (as the downward API's
#                             status.hostIP; a non-empty HOST_IP line in the file wins). A value in
#                             double quotes may hold \n (newline), \\ and \"; single quotes: literal
#   CLAMP_NODES               which nodes get the clamp                                 [nodeA,nodeB]
#   CLAMP_TIMEOUT             seconds before a clamp run is killed                       [15]
#   IPT_BACKEND               legacy | nft | none: before the script runs, create kubelet's hint
#                             chains (mangle KUBE-IPTABLES-HINT, KUBE-KUBELET-CANARY) with that
#                             backend. The script's PATH starts with a dir where iptables,
#                             ip6tables, *-save, *-restore emulate the iptables-wrapper of the
#                             flannel image (lab/iptables-wrapper.sh).                    [none]
#   LAB_VERBOSE=1             progress on stderr
#
# SUBCOMMANDS (endpoints: podA nodeA podB nodeB; as a target also nodeA-ul nodeB-ul, the underlay
# eth0 addresses, reachable from nodes only; with IPV6=1 also podA6 podB6 from pods and nodeA-ul6
# nodeB-ul6 from nodes)
#   up                        build the lab; leaves it up
#   down                      kill the lab's processes, delete its namespaces and state
#   reconfig [NAME=value...]  apply config env/arguments in place (ip link set mtu, vxlan df,
#                             router rules), then flush route caches and tcp metrics everywhere
#   post SIZE FROM TO         HTTP POST of a SIZE-byte JSON body (curl -m POST_TIMEOUT)
#   get SIZE FROM TO          HTTP GET of SIZE bytes from TO (data flows TO -> FROM)
#   dfping FROM TO SIZE       one DF ping (ping -M do) of a SIZE-byte IP packet
#   pmtu-search FROM TO       binary search of the largest DF ping that gets a reply
#   iperf FROM TO             iperf3 FROM -> TO for IPERF_SECONDS, wrapped in timeout
#   clamp | unclamp           run CLAMP_SCRIPT on the nodes | flush all iptables/nft rules on the nodes
#   counters                  packets the WAN dropped (ICMP frag-needed, fragments) since the last up/reconfig
#   repod POD MTU             the pod as the CNI recreates it with a new MTU: its eth0 and host veth
#                             get MTU, no cached PMTU or TCP metrics; node devices stay (MTU changes)
#   overlay-icmp drop|pass    the nodes drop (or pass again, printing how many were dropped) ICMP
#                             "fragmentation needed" arriving over flannel.<VNI>, as a strict firewall
#                             or network policy does; a node's ICMP to its own pods is local and stays
#   run CHECK...              up, each CHECK (one quoted arg, e.g. 'post 1616 podA podB' or
#                             'reconfig OVERLAY_MTU_A=1330 OVERLAY_MTU_B=1330'), down (always)
#   list                      labs whose namespaces exist on this host
#
# OUTPUT: one JSON object per line on stdout per event/check, e.g.
#   {"check":"post","from":"podA","to":"podB","size":1616,"result":"hang","http_code":0,"curl_rc":28,"seconds":3.004}
# result is ok | hang | fail | error. Diagnostics go to stderr. Exit status: 0 when the command ran
# (whatever the network did), 1 on an engine error, 2 on a usage error.
# Teardown: `run` and a failing `up` tear down on EXIT/INT/TERM; `down` kills only the PIDs it
# recorded (checked against their start time) and processes inside "$LAB_ID-*" namespaces.

set -uo pipefail
export LC_ALL=C
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${PATH:-}"

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SELF="$SCRIPT_DIR/$(basename "${BASH_SOURCE[0]}")"
ROLES=(podA nodeA wanA wanB nodeB podB)
CONFIG_VARS=(NIC_MTU_A NIC_MTU_B PATH_MTU WAN_MODEL ICMP_BLACKHOLE OVERLAY_MTU_A OVERLAY_MTU_B
  POD_MTU_A POD_MTU_B ROUTE_MTU_A ROUTE_MTU_B VNI VXLAN_PORT HTTP_PORT BACKEND WG_MODE IPV6 PATH_MTU_V6)
UP_ONLY_VARS=(VNI VXLAN_PORT HTTP_PORT BACKEND WG_MODE IPV6)
RUN_SETTABLE_VARS=("${CONFIG_VARS[@]}" POST_TIMEOUT PING_WAIT IPERF_SECONDS IPERF_GSO IPERF_PORT
  CLAMP_SCRIPT CLAMP_ENV CLAMP_NODES CLAMP_TIMEOUT IPT_BACKEND)
declare -A ADDR=([podA]=10.245.1.2 [nodeA]=10.245.1.0 [podB]=10.245.2.2 [nodeB]=10.245.2.0
  [nodeA-ul]=192.168.100.2 [nodeB-ul]=192.168.200.2
  [podA6]=fd00:10:245:1::2 [podB6]=fd00:10:245:2::2 [nodeA-ul6]=fd00:192:168:100::2 [nodeB-ul6]=fd00:192:168:200::2)
declare -A NS=()
CMD_PIDS=()
TEARDOWN_ON_EXIT=0
TMP=""

# ---------------------------------------------------------------- helpers
die() { printf 'mtulab: error: %s\n' "$*" >&2; exit 1; }
usage_die() { printf 'mtulab: usage: %s\n' "$*" >&2; exit 2; }
log() { if [[ ${LAB_VERBOSE:-0} == 1 ]]; then printf 'mtulab: %s\n' "$*" >&2; fi; return 0; }
x() { "$@" || die "command failed: $*"; }
now_us() { printf -v "$1" '%s' "${EPOCHREALTIME/./}"; }
# since T0_US -> REPLY = seconds with 3 decimals
since() {
  local t1 d
  now_us t1
  d=$((t1 - $1))
  printf -v REPLY '%d.%03d' $((d / 1000000)) $(((d % 1000000) / 1000))
}
json_str() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/ }
  s=${s//$'\r'/ }
  s=${s//$'\t'/ }
  printf -v REPLY '"%s"' "$s"
}
emit() { printf '%s\n' "$1"; }
is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
sleep_s() { read -rt "$1" <> <(:) || :; } # sleep without forking sleep(1)

setup_ids() {
  [[ -n ${LAB_ID:-} ]] || usage_die "LAB_ID is required (the id printed by 'up')"
  [[ $LAB_ID =~ ^fmlab-[A-Za-z0-9_.-]{1,40}$ ]] || usage_die "LAB_ID must match fmlab-[A-Za-z0-9_.-]{1,40}, got '$LAB_ID'"
  STATE_ROOT=${LAB_STATE_ROOT:-/run/fmlab}
  STATE="$STATE_ROOT/$LAB_ID"
  local r
  for r in "${ROLES[@]}"; do NS[$r]="$LAB_ID-$r"; done
}
require_lab() {
  setup_ids
  [[ -d $STATE && -f $STATE/config.env ]] || die "lab $LAB_ID is not up (no $STATE)"
  ip netns list | awk '{print $1}' | grep -qx -- "${NS[nodeA]}" || die "lab $LAB_ID: namespace ${NS[nodeA]} is missing"
}
lab_namespaces() { ip netns list 2>/dev/null | awk '{print $1}' | grep -E -- "^${LAB_ID//./\\.}-(podA|nodeA|wanA|wanB|nodeB|podB)\$" || true; }
nsx() {
  local r=$1
  shift
  ip netns exec "${NS[$r]}" "$@"
}
ipn() {
  local r=$1
  shift
  ip -n "${NS[$r]}" "$@"
}
make_tmp() {
  TMP="$STATE/tmp.$$"
  mkdir -p "$TMP" || die "cannot create $TMP"
}
# process start time (clock ticks since boot), guards recorded PIDs against reuse
proc_start() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  local -a f
  read -ra f <<<"$stat"
  printf '%s' "${f[19]}"
}
record_pid() { # PID ROLE NAME
  local st
  st=$(proc_start "$1") || st=0
  printf '%s %s %s %s\n' "$1" "$st" "$2" "$3" >>"$STATE/pids"
}
# run a command in the background and wait for it, so INT/TERM are handled while it runs.
# Pass an external command (ip netns exec ...), not a shell function: a function would run in a
# forked subshell whose PID is not the command's.
fg_run() {
  "$@" &
  local p=$!
  CMD_PIDS+=("$p")
  wait "$p"
  local rc=$?
  return $rc
}
on_exit() {
  local rc=$? p
  trap - EXIT INT TERM HUP
  for p in "${CMD_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  [[ -n $TMP && -d $TMP ]] && rm -rf "$TMP"
  if [[ $TEARDOWN_ON_EXIT == 1 ]]; then
    log "tearing down $LAB_ID (exit status $rc)"
    do_down >/dev/null
  fi
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---------------------------------------------------------------- config
load_config() {
  local line k v
  if [[ -n ${STATE:-} && -f $STATE/config.env ]]; then
    while IFS= read -r line; do
      k=${line%%=*}
      v=${line#*=}
      [[ -z ${!k+x} ]] && printf -v "$k" '%s' "$v"
    done <"$STATE/config.env"
  fi
  : "${NIC_MTU_A:=1400}" "${NIC_MTU_B:=1400}" "${PATH_MTU:=1380}" "${WAN_MODEL:=icmp}" "${ICMP_BLACKHOLE:=1}"
  : "${VNI:=1}" "${VXLAN_PORT:=8472}" "${HTTP_PORT:=8888}" "${BACKEND:=vxlan}" "${WG_MODE:=separate}" "${IPV6:=0}"
  [[ -z ${PATH_MTU_V6+x} ]] && PATH_MTU_V6=
  [[ -z ${OVERLAY_MTU_A+x} ]] && OVERLAY_MTU_A=
  [[ -z ${OVERLAY_MTU_B+x} ]] && OVERLAY_MTU_B=
  [[ -z ${POD_MTU_A+x} ]] && POD_MTU_A=
  [[ -z ${POD_MTU_B+x} ]] && POD_MTU_B=
  [[ -z ${ROUTE_MTU_A+x} ]] && ROUTE_MTU_A=
  [[ -z ${ROUTE_MTU_B+x} ]] && ROUTE_MTU_B=
  for k in NIC_MTU_A NIC_MTU_B PATH_MTU VNI VXLAN_PORT HTTP_PORT; do
    is_uint "${!k}" || usage_die "$k must be an integer, got '${!k}'"
  done
  for k in OVERLAY_MTU_A OVERLAY_MTU_B POD_MTU_A POD_MTU_B ROUTE_MTU_A ROUTE_MTU_B PATH_MTU_V6; do
    [[ -z ${!k} ]] || is_uint "${!k}" || usage_die "$k must be an integer or empty, got '${!k}'"
  done
  case $WAN_MODEL in icmp | frags | open) ;; *) usage_die "WAN_MODEL must be icmp, frags or open, got '$WAN_MODEL'" ;; esac
  case $ICMP_BLACKHOLE in 0 | 1) ;; *) usage_die "ICMP_BLACKHOLE must be 0 or 1" ;; esac
  check_backend_config
  EFF_OVERLAY_A=${OVERLAY_MTU_A:-$((NIC_MTU_A - FLANNEL_SUBTRACTS))}
  EFF_OVERLAY_B=${OVERLAY_MTU_B:-$((NIC_MTU_B - FLANNEL_SUBTRACTS))}
  EFF_POD_A=${POD_MTU_A:-$EFF_OVERLAY_A}
  EFF_POD_B=${POD_MTU_B:-$EFF_OVERLAY_B}
  for k in NIC_MTU_A NIC_MTU_B PATH_MTU EFF_OVERLAY_A EFF_OVERLAY_B EFF_POD_A EFF_POD_B; do
    ((${!k} >= 68 && ${!k} <= 65535)) || usage_die "$k=${!k} is outside 68..65535"
  done
  VXLAN_IF="flannel.$VNI"
  OVERLAY_IFS=("$VXLAN_IF")
  [[ $BACKEND == wireguard ]] && wg_devices
  return 0
}
save_config() {
  local k
  for k in "${CONFIG_VARS[@]}"; do printf '%s=%s\n' "$k" "${!k}"; done >"$STATE/config.env.new" &&
    mv "$STATE/config.env.new" "$STATE/config.env"
}
config_json() {
  printf -v REPLY '"nic_mtu_a":%s,"nic_mtu_b":%s,"path_mtu":%s,"wan_model":"%s","icmp_blackhole":%s,"overlay_mtu_a":%s,"overlay_mtu_b":%s,"pod_mtu_a":%s,"pod_mtu_b":%s,"vni":%s,"vxlan_port":%s,"route_mtu_a":%s,"route_mtu_b":%s' \
    "$NIC_MTU_A" "$NIC_MTU_B" "$PATH_MTU" "$WAN_MODEL" "$([[ $ICMP_BLACKHOLE == 1 ]] && echo true || echo false)" \
    "$EFF_OVERLAY_A" "$EFF_OVERLAY_B" "$EFF_POD_A" "$EFF_POD_B" "$VNI" "$VXLAN_PORT" "${ROUTE_MTU_A:-null}" "${ROUTE_MTU_B:-null}"
  backend_config_json
}

# ---------------------------------------------------------------- backends and IPv6
# FLANNEL_SUBTRACTS: what flannel takes off Backend.MTU for its devices (vxlan 50, wireguard 80);
# with no OVERLAY_MTU the lab's devices are NIC - that, as upstream's default.
check_backend_config() {
  case $BACKEND in
    vxlan) FLANNEL_SUBTRACTS=50 ;;
    wireguard) FLANNEL_SUBTRACTS=80 ;;
    *) usage_die "BACKEND must be vxlan or wireguard, got '$BACKEND'" ;;
  esac
  case $WG_MODE in separate | ipv4 | ipv6) ;; *) usage_die "WG_MODE must be separate, ipv4 or ipv6, got '$WG_MODE'" ;; esac
  case $IPV6 in 0 | 1) ;; *) usage_die "IPV6 must be 0 or 1, got '$IPV6'" ;; esac
  [[ $IPV6 == 1 && $BACKEND != wireguard ]] && usage_die "IPV6=1 needs BACKEND=wireguard (the vxlan lab is IPv4)"
  [[ $WG_MODE == ipv6 && $IPV6 != 1 ]] && usage_die "WG_MODE=ipv6 needs IPV6=1 (an IPv6 underlay)"
  EFF_PATH_MTU_V6=${PATH_MTU_V6:-$PATH_MTU}
  if [[ $IPV6 == 1 ]] && ((EFF_PATH_MTU_V6 < 1280 || EFF_PATH_MTU_V6 > PATH_MTU)); then
    usage_die "PATH_MTU_V6=$EFF_PATH_MTU_V6 must be within 1280..PATH_MTU ($PATH_MTU)"
  fi
  return 0
}
backend_config_json() { # appends to REPLY
  REPLY+=",\"backend\":\"$BACKEND\",\"ipv6\":$([[ $IPV6 == 1 ]] && echo true || echo false),\"path_mtu_v6\":$([[ $IPV6 == 1 ]] && echo "$EFF_PATH_MTU_V6" || echo null)"
  REPLY+=",\"overlay_devices\":[$(printf '"%s",' "${OVERLAY_IFS[@]}" | sed 's/,$//')]"
  [[ $BACKEND == wireguard ]] && REPLY+=",\"wg_mode\":\"$WG_MODE\""
  return 0
}
# the devices flannel's wireguard backend creates in WG_MODE (pkg/backend/wireguard/wireguard.go)
wg_devices() {
  OVERLAY_IFS=(flannel-wg)
  [[ $WG_MODE == separate && $IPV6 == 1 ]] && OVERLAY_IFS+=(flannel-wg-v6)
  return 0
}
wg_check_tools() {
  local tool
  for tool in wireguard-go wg unshare nsenter; do
    command -v "$tool" >/dev/null || die "missing tool: $tool (BACKEND=wireguard)"
  done
  [[ -c /dev/net/tun ]] || die "/dev/net/tun is missing (wireguard-go needs a TUN device)"
}
build_underlay_v6() {
  local r
  for r in nodeA wanA wanB nodeB; do x nsx "$r" sysctl -qw net.ipv6.conf.all.forwarding=1; done
  x ipn nodeA addr add fd00:192:168:100::2/64 dev eth0 nodad
  x ipn wanA addr add fd00:192:168:100::1/64 dev wan-a nodad
  x ipn wanA addr add fd00:10:245:254::1/64 dev sdw0 nodad
  x ipn wanB addr add fd00:10:245:254::2/64 dev sdw1 nodad
  x ipn wanB addr add fd00:192:168:200::1/64 dev wan-b nodad
  x ipn nodeB addr add fd00:192:168:200::2/64 dev eth0 nodad
  x ipn nodeA route add fd00:192:168:200::/64 via fd00:192:168:100::1
  x ipn wanA route add fd00:192:168:200::/64 via fd00:10:245:254::2
  x ipn wanB route add fd00:192:168:100::/64 via fd00:10:245:254::1
  x ipn nodeB route add fd00:192:168:100::/64 via fd00:192:168:200::1
}
build_pod_v6() { # A|B: the pod's IPv6 address and cni0's, as the bridge plugin sets them
  local s=$1 sub=1
  [[ $s == B ]] && sub=2
  x ipn "node$s" addr add "fd00:10:245:$sub::1/64" dev cni0 nodad
  x ipn "pod$s" addr add "fd00:10:245:$sub::2/64" dev eth0 nodad
  x ipn "pod$s" route add fd00:10:245::/48 via "fd00:10:245:$sub::1"
}
apply_wan_model_v6() {
  local r in
  for r in wanA wanB; do
    in=sdw0
    [[ $r == wanB ]] && in=sdw1
    x nsx "$r" ip6tables-nft -w -F OUTPUT
    x nsx "$r" ip6tables-nft -w -F FORWARD
    if [[ $ICMP_BLACKHOLE == 1 ]]; then
      x nsx "$r" ip6tables-nft -w -A OUTPUT -p ipv6-icmp --icmpv6-type packet-too-big -j DROP
    fi
    if [[ $WAN_MODEL == frags ]]; then
      x nsx "$r" ip6tables-nft -w -A FORWARD -i "$in" -m frag --fragid 0:4294967295 -j DROP
    fi
  done
}

# wireguard-go for DEV in NODE's network namespace, in a mount namespace of its own whose /run is a
# private tmpfs: its control socket /run/wireguard/DEV.sock is then seen only by the `wg` runs that
# join that mount namespace (wg_setconf). Exec all the way down, so $! is wireguard-go's PID.
wg_start() { # NODE DEV
  local n=$1 dev=$2 pid i
  # shellcheck disable=SC2016 # $1 is the inner sh's
  ip netns exec "${NS[$n]}" env WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 LOG_LEVEL=error \
    unshare --mount --propagation private sh -c 'mount -t tmpfs -o mode=0755,size=1m fmlab-wg /run && mkdir /run/wireguard && exec wireguard-go -f "$1"' sh "$dev" \
    </dev/null >"$STATE/wg-$n-$dev.log" 2>&1 &
  pid=$!
  record_pid "$pid" "$n" "wireguard-go-$dev"
  printf '%s\n' "$pid" >"$STATE/wg-$n-$dev.pid"
  for ((i = 0; i < 250; i++)); do
    if ipn "$n" link show dev "$dev" >/dev/null 2>&1 && nsenter -t "$pid" -m test -S "/run/wireguard/$dev.sock" 2>/dev/null; then return 0; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep_s 0.02
  done
  die "wireguard-go $dev in $n did not start: $(head -c 300 "$STATE/wg-$n-$dev.log")"
}
wg_setconf() { # NODE DEV; the config on stdin (never a file: the state directory is under the hidden /run)
  nsenter -t "$(<"$STATE/wg-$1-$2.pid")" -m -n wg setconf "$2" /dev/stdin
}
# flannel-wg (and flannel-wg-v6) on both nodes, configured as flanneld's addPeer does: one peer, the
# other node, with its pod subnet(s) as allowed IPs and the endpoint of the device's underlay family.
wg_build() {
  local s n o d dev key port ep allowed
  local -A priv=() pub=()
  for n in nodeA nodeB; do
    for dev in "${OVERLAY_IFS[@]}"; do
      key=$(wg genkey) || die "wg genkey failed"
      priv[$n-$dev]=$key
      pub[$n-$dev]=$(printf '%s\n' "$key" | wg pubkey) || die "wg pubkey failed"
      wg_start "$n" "$dev"
    done
  done
  for s in A B; do
    n=node$s o=nodeB d=2
    [[ $s == B ]] && o=nodeA d=1
    for dev in "${OVERLAY_IFS[@]}"; do
      port=51820 ep=${ADDR[$o-ul]}
      [[ $dev == flannel-wg-v6 ]] && port=51821
      [[ $dev == flannel-wg-v6 || $WG_MODE == ipv6 ]] && ep="[${ADDR[$o-ul6]}]"
      case $dev/$IPV6/$WG_MODE in
        flannel-wg/0/*) allowed="10.245.$d.0/24" ;;
        flannel-wg/1/separate) allowed="10.245.$d.0/24" ;;
        flannel-wg/1/*) allowed="10.245.$d.0/24, fd00:10:245:$d::/64" ;;
        flannel-wg-v6/*) allowed="fd00:10:245:$d::/64" ;;
      esac
      printf '[Interface]\nPrivateKey = %s\nListenPort = %s\n\n[Peer]\nPublicKey = %s\nEndpoint = %s:%s\nAllowedIPs = %s\n' \
        "${priv[$n-$dev]}" "$port" "${pub[$o-$dev]}" "$ep" "$port" "$allowed" | wg_setconf "$n" "$dev" ||
        die "wg setconf $dev in $n failed"
      x ipn "$n" link set "$dev" up
    done
    x ipn "$n" addr add "10.245.$((3 - d)).0/32" dev flannel-wg

  done
}
# flanneld's addRoute: the whole cluster network `dev` the device, scope link
wg_routes() { # NODE [mtu N]
  local n=$1
  shift
  x ipn "$n" route replace 10.245.0.0/16 dev flannel-wg scope link "$@"
  if [[ $IPV6 == 1 ]]; then
    local v6dev=flannel-wg
    [[ $WG_MODE == separate ]] && v6dev=flannel-wg-v6
    x ipn "$n" -6 route replace fd00:10:245::/48 dev "$v6dev" "$@"
  fi
}

router_ipt() { # ROLE args...: routers use iptables-nft (their own namespaces, never the nodes')

  local r=$1
  shift
  nsx "$r" iptables-nft -w "$@"
}

# ---------------------------------------------------------------- build
build_lab() {
  local r
  for r in "${ROLES[@]}"; do
    x ip netns add "${NS[$r]}"
    x ipn "$r" link set lo up
    local fwd=0
    [[ $r == node* || $r == wan* ]] && fwd=1
    x nsx "$r" sysctl -qw net.ipv6.conf.all.disable_ipv6=$((1 - IPV6)) net.ipv6.conf.default.disable_ipv6=$((1 - IPV6)) \
      net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
      net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
      net.ipv4.tcp_no_metrics_save=1 net.ipv4.ip_forward=$fwd
  done
  # underlay: nodeA -- wanA == wanB -- nodeB (veths created directly inside the lab namespaces)
  x ipn nodeA link add eth0 type veth peer name wan-a netns "${NS[wanA]}"
  x ipn wanA link add sdw0 type veth peer name sdw1 netns "${NS[wanB]}"
  x ipn nodeB link add eth0 type veth peer name wan-b netns "${NS[wanB]}"
  x ipn nodeA addr add 192.168.100.2/24 dev eth0
  x ipn wanA addr add 192.168.100.1/24 dev wan-a
  x ipn wanA addr add 10.245.254.1/30 dev sdw0
  x ipn wanB addr add 10.245.254.2/30 dev sdw1
  x ipn wanB addr add 192.168.200.1/24 dev wan-b
  x ipn nodeB addr add 192.168.200.2/24 dev eth0
  x ipn nodeA link set eth0 up
  x ipn wanA link set wan-a up
  x ipn wanA link set sdw0 up
  x ipn wanB link set sdw1 up
  x ipn wanB link set wan-b up
  x ipn nodeB link set eth0 up
  x ipn nodeA route add 192.168.200.0/24 via 192.168.100.1
  x ipn wanA route add 192.168.200.0/24 via 10.245.254.2
  x ipn wanB route add 192.168.100.0/24 via 10.245.254.1
  x ipn nodeB route add 192.168.100.0/24 via 192.168.200.1
  [[ $IPV6 == 1 ]] && build_underlay_v6
  # overlay, as flanneld and the flannel CNI plugin program it
  local s n p other sub ul oul mac omac lc
  for s in A B; do
    n=node$s p=pod$s lc=${s,,}
    if [[ $s == A ]]; then
      other=2 sub=1 ul=192.168.100.2 oul=192.168.200.2 mac=0a:58:0a:f5:01:00 omac=0a:58:0a:f5:02:00
    else
      other=1 sub=2 ul=192.168.200.2 oul=192.168.100.2 mac=0a:58:0a:f5:02:00 omac=0a:58:0a:f5:01:00
    fi
    if [[ $BACKEND == vxlan ]]; then
      x ipn "$n" link add "$VXLAN_IF" type vxlan id "$VNI" dstport "$VXLAN_PORT" local "$ul" dev eth0 nolearning df set
      x ipn "$n" link set "$VXLAN_IF" address "$mac" up
      x ipn "$n" addr add "10.245.$sub.0/32" dev "$VXLAN_IF"
      x ipn "$n" route add "10.245.$other.0/24" via "10.245.$other.0" dev "$VXLAN_IF" onlink
      x ipn "$n" neigh replace "10.245.$other.0" lladdr "$omac" dev "$VXLAN_IF" nud permanent
      x nsx "$n" bridge fdb append "$omac" dev "$VXLAN_IF" dst "$oul" self permanent
    fi
    x ipn "$n" link add cni0 type bridge
    x ipn "$n" addr add "10.245.$sub.1/24" dev cni0
    x ipn "$n" link set cni0 up
    x ipn "$p" link add eth0 type veth peer name "vethp$lc" netns "${NS[$n]}"
    x ipn "$n" link set "vethp$lc" master cni0 up
    x ipn "$p" addr add "10.245.$sub.2/24" dev eth0
    x ipn "$p" link set eth0 up
    # flannel's CNI gives pods a default route; the lab uses the cluster CIDR so no namespace has one
    x ipn "$p" route add 10.245.0.0/16 via "10.245.$sub.1"
    [[ $IPV6 == 1 ]] && build_pod_v6 "$s"
  done
  [[ $BACKEND == wireguard ]] && wg_build
  return 0
}

apply_mtus() {
  local s n p lc
  for s in A B; do
    n=node$s p=pod$s lc=${s,,}
    local nic=NIC_MTU_$s ov=EFF_OVERLAY_$s pod=EFF_POD_$s
    x ipn "$n" link set eth0 mtu "${!nic}"
    if [[ $s == A ]]; then x ipn wanA link set wan-a mtu "${!nic}"; else x ipn wanB link set wan-b mtu "${!nic}"; fi
    for d in "${OVERLAY_IFS[@]}"; do x ipn "$n" link set "$d" mtu "${!ov}"; done
    x ipn "$p" link set eth0 mtu "${!pod}"
    x ipn "$n" link set "vethp$lc" mtu "${!pod}"
    x ipn "$n" link set cni0 mtu "${!pod}"
    local rmtu=ROUTE_MTU_$s other=2
    [[ $s == B ]] && other=1
    local -a mtuarg=()
    [[ -n ${!rmtu} ]] && mtuarg=(mtu "${!rmtu}")
    if [[ $BACKEND == vxlan ]]; then
      x ipn "$n" route replace "10.245.$other.0/24" via "10.245.$other.0" dev "$VXLAN_IF" onlink "${mtuarg[@]}"
    else
      wg_routes "$n" "${mtuarg[@]}"
    fi
  done
  x ipn wanA link set sdw0 mtu "$PATH_MTU"
  x ipn wanB link set sdw1 mtu "$PATH_MTU"
  # a link's IPv6 MTU may be below its MTU; setting the link MTU resets it, so it comes after
  if [[ $IPV6 == 1 ]]; then
    x nsx wanA sysctl -qw "net.ipv6.conf.sdw0.mtu=$EFF_PATH_MTU_V6"
    x nsx wanB sysctl -qw "net.ipv6.conf.sdw1.mtu=$EFF_PATH_MTU_V6"
  fi
  return 0
}

apply_wan_model() {
  local df=set r
  [[ $WAN_MODEL == icmp ]] || df="unset"
  if [[ $BACKEND == vxlan ]]; then
    x ipn nodeA link set "$VXLAN_IF" type vxlan df "$df"
    x ipn nodeB link set "$VXLAN_IF" type vxlan df "$df"
  fi
  [[ $IPV6 == 1 ]] && apply_wan_model_v6
  for r in wanA wanB; do
    x router_ipt "$r" -F OUTPUT
    x router_ipt "$r" -F FORWARD
    if [[ $ICMP_BLACKHOLE == 1 ]]; then
      x router_ipt "$r" -A OUTPUT -p icmp --icmp-type fragmentation-needed -j DROP
    fi
    if [[ $WAN_MODEL == frags ]]; then
      local in=sdw0
      [[ $r == wanB ]] && in=sdw1
      x router_ipt "$r" -A FORWARD -i "$in" -f -j DROP
    fi
  done
}

flush_caches() {
  local r
  for r in "${ROLES[@]}"; do
    # both families: a path MTU learnt over IPv6 in one WAN model (ICMPv6 let through) would make
    # the node fragment outer packets in the next one and hide its blackhole
    ipn "$r" route flush cache 2>/dev/null
    ipn "$r" -6 route flush cache 2>/dev/null
    ipn "$r" tcp_metrics flush all 2>/dev/null
  done
  return 0
}

start_servers() {
  local r
  for r in podA nodeA podB nodeB; do
    ip netns exec "${NS[$r]}" node "$SCRIPT_DIR/http-server.js" --port "$HTTP_PORT" --host "$([[ $IPV6 == 1 ]] && echo :: || echo 0.0.0.0)" </dev/null >"$STATE/http-$r.log" 2>&1 &
    record_pid $! "$r" http
  done
  local i
  for r in podA nodeA podB nodeB; do
    for ((i = 0; i < 250; i++)); do
      grep -q '^listening' "$STATE/http-$r.log" 2>/dev/null && break
      sleep_s 0.02
    done
    grep -q '^listening' "$STATE/http-$r.log" || die "http server in $r did not start: $(head -c 300 "$STATE/http-$r.log")"
  done
}

start_watchdog() {
  local owner=${LAB_OWNER_PID:-$PPID}
  [[ $owner == 0 ]] && return 0
  is_uint "$owner" || usage_die "LAB_OWNER_PID must be a PID or 0"
  kill -0 "$owner" 2>/dev/null || die "LAB_OWNER_PID $owner is not running"
  (
    trap - EXIT
    trap '' HUP INT
    trap 'exit 0' TERM
    while kill -0 "$owner" 2>/dev/null && [[ -d $STATE ]]; do sleep_s 1; done
    [[ -d $STATE ]] && LAB_ID=$LAB_ID FMLAB_WATCHDOG=1 exec bash "$SELF" down
  ) </dev/null >/dev/null 2>&1 &
  record_pid $! host watchdog
}

setup_bin() {
  mkdir -p "$STATE/bin" || die "cannot create $STATE/bin"
  local n
  for n in iptables ip6tables iptables-save ip6tables-save iptables-restore ip6tables-restore; do
    ln -sf "$SCRIPT_DIR/iptables-wrapper.sh" "$STATE/bin/$n"
  done
}

cmd_up() {
  local t0
  now_us t0
  [[ -n ${LAB_ID:-} ]] || LAB_ID="fmlab-$$"
  setup_ids
  [[ $EUID == 0 ]] || die "must run as root"
  local tool
  for tool in ip bridge iptables-nft iptables-legacy ping curl iperf3 node timeout; do
    command -v "$tool" >/dev/null || die "missing tool: $tool"
  done
  [[ -e $STATE ]] && die "lab $LAB_ID already has state in $STATE (run down first)"
  if [[ -n $(lab_namespaces) ]]; then die "namespaces with prefix $LAB_ID- already exist (run down first)"; fi
  load_config
  [[ $BACKEND == wireguard ]] && wg_check_tools
  mkdir -p "$STATE" || die "cannot create $STATE"
  TEARDOWN_ON_EXIT=1
  : >"$STATE/pids"
  save_config
  setup_bin
  log "building $LAB_ID"
  build_lab
  apply_mtus
  apply_wan_model
  flush_caches
  start_servers
  # sanity: small packets cross the overlay and the underlay
  nsx podA ping -n -q -c 1 -W 2 "${ADDR[podB]}" >/dev/null 2>&1 || die "sanity ping podA -> podB failed"
  nsx nodeA ping -n -q -c 1 -W 2 "${ADDR[nodeB-ul]}" >/dev/null 2>&1 || die "sanity ping nodeA -> nodeB-ul failed"
  if [[ $IPV6 == 1 ]]; then
    nsx podA ping -6 -n -q -c 1 -W 2 "${ADDR[podB6]}" >/dev/null 2>&1 || die "sanity ping podA -> podB6 failed"
    nsx nodeA ping -6 -n -q -c 1 -W 2 "${ADDR[nodeB-ul6]}" >/dev/null 2>&1 || die "sanity ping nodeA -> nodeB-ul6 failed"
  fi
  start_watchdog
  TEARDOWN_ON_EXIT=0
  since "$t0"
  local secs=$REPLY
  config_json
  emit "{\"event\":\"up\",\"lab_id\":\"$LAB_ID\",\"state\":\"$STATE\",\"seconds\":$secs,$REPLY}"
}

# ---------------------------------------------------------------- teardown
do_down() { # prints the JSON line; never fails
  local t0 killed=0 removed=0 pid st role ns p
  now_us t0
  if [[ -f $STATE/pids ]]; then
    while read -r pid st role _; do
      [[ $pid == "$$" ]] && continue
      [[ -n $pid && -d /proc/$pid ]] || continue
      [[ $(proc_start "$pid") == "$st" ]] || continue
      # processes inside the lab namespaces are handled below; here only host-side helpers
      [[ $role == host ]] || continue
      kill -TERM "$pid" 2>/dev/null && killed=$((killed + 1))
    done <"$STATE/pids"
  fi
  local -a nss
  mapfile -t nss < <(lab_namespaces)
  local i
  for ((i = 0; i < 50; i++)); do
    local left=0
    for ns in "${nss[@]}"; do
      for p in $(ip netns pids "$ns" 2>/dev/null); do
        [[ $p == "$$" ]] && continue
        left=1
        if ((i == 0)); then
          kill -TERM "$p" 2>/dev/null && killed=$((killed + 1))
        elif ((i >= 25)); then
          kill -KILL "$p" 2>/dev/null
        fi
      done
    done
    ((left == 0)) && break
    sleep_s 0.02
  done
  for ns in "${nss[@]}"; do
    ip netns del "$ns" 2>/dev/null && removed=$((removed + 1))
  done
  [[ -n ${STATE:-} && -d $STATE && $STATE == */fmlab-* ]] && rm -rf "$STATE"
  since "$t0"
  emit "{\"event\":\"down\",\"lab_id\":\"$LAB_ID\",\"namespaces_removed\":$removed,\"processes_killed\":$killed,\"seconds\":$REPLY}"
}
cmd_down() {
  setup_ids
  do_down
}

cmd_list() {
  ip netns list 2>/dev/null | awk '{print $1}' | sed -nE 's/^(fmlab-[A-Za-z0-9_.-]+)-(podA|nodeA|wanA|wanB|nodeB|podB)$/\1/p' |
    sort | uniq -c | while read -r cnt id; do
    emit "{\"event\":\"lab\",\"lab_id\":\"$id\",\"namespaces\":$cnt}"
  done
}

cmd_reconfig() {
  local a k
  for a in "$@"; do
    [[ $a == *=* ]] || usage_die "reconfig takes NAME=value arguments, got '$a'"
    k=${a%%=*}
    [[ " ${CONFIG_VARS[*]} " == *" $k "* ]] || usage_die "reconfig: unknown variable $k"
    printf -v "$k" '%s' "${a#*=}"
  done
  require_lab
  local t0
  now_us t0
  # remember up-only values before load_config merges the environment over the state
  local -A was=()
  while IFS= read -r a; do was[${a%%=*}]=${a#*=}; done <"$STATE/config.env"
  load_config
  for k in "${UP_ONLY_VARS[@]}"; do
    [[ ${!k} == "${was[$k]}" ]] || usage_die "$k can only be set at 'up' (lab has ${was[$k]}, asked ${!k})"
  done
  apply_mtus
  apply_wan_model
  flush_caches
  save_config
  since "$t0"
  local secs=$REPLY
  config_json
  emit "{\"event\":\"reconfig\",\"lab_id\":\"$LAB_ID\",\"seconds\":$secs,$REPLY}"
}

# ---------------------------------------------------------------- checks
check_endpoint() { # NAME VALUE [target]
  case $2 in
    podA | nodeA | podB | nodeB) ;;
    nodeA-ul | nodeB-ul) [[ ${3:-} == target ]] || usage_die "$1 must be podA, nodeA, podB or nodeB, got '$2'" ;;
    podA6 | podB6 | nodeA-ul6 | nodeB-ul6) [[ ${3:-} == target ]] || usage_die "$1 must be podA, nodeA, podB or nodeB, got '$2'" ;;
    *) usage_die "$1 must be podA, nodeA, podB or nodeB${3:+ (or nodeA-ul, nodeB-ul)}, got '$2'" ;;
  esac
}
# check_flow FROM TO: both endpoints valid and the lab has a route between them.
check_flow() {
  check_endpoint FROM "$1"
  check_endpoint TO "$2" target
  check_route "$1" "$2"
}

check_route() { # FROM TO
  if [[ $1 == pod* && $2 == *-ul* ]]; then usage_die "pods have no route to the underlay ($2)"; fi
  if [[ $1 == node* && $2 == pod*6 ]]; then usage_die "nodes have no IPv6 overlay address in the lab; IPv6 overlay checks run from pods ($1 -> $2)"; fi
  return 0
}

http_check() { # post|get SIZE FROM TO
  local kind=$1 size=$2 from=$3 to=$4
  is_uint "$size" || usage_die "$kind SIZE must be an integer"
  check_flow "$from" "$to"
  require_lab
  load_config
  local tmo=${POST_TIMEOUT:-3}
  make_tmp
  local host=${ADDR[$to]}
  [[ $host == *:* ]] && host="[$host]"
  local url="http://$host:$HTTP_PORT/" body resp="$TMP/resp" wout="$TMP/w" err="$TMP/err" expect
  local -a args=(-sS -m "$tmo" -o "$resp" -w '%{http_code} %{time_total}')
  if [[ $kind == post ]]; then
    ((size >= 8)) || usage_die "post SIZE must be at least 8 (a JSON body)"
    body="$STATE/body-$size.json"
    if [[ ! -f $body ]]; then
      { printf '{"d":"'; printf '%*s' $((size - 8)) '' | tr ' ' x; printf '"}'; } >"$body.$$" && mv "$body.$$" "$body"
    fi
    args+=(-X POST -H 'Content-Type: application/json' --data-binary "@$body" "$url")
    expect="received $size bytes"
  else
    args+=("${url}bytes/$size")
  fi
  local t0 rc
  now_us t0
  fg_run ip netns exec "${NS[$from]}" curl "${args[@]}" >"$wout" 2>"$err"
  rc=$?
  since "$t0"
  local secs=$REPLY code=0 result
  code=$(<"$wout")
  code=${code%% *}
  [[ $code =~ ^[0-9]+$ ]] || code=0
  code=$((10#$code))
  if ((rc == 0 && code == 200)); then
    if [[ $kind == post ]]; then
      grep -q "^$expect\$" "$resp" && result=ok || result=fail
    else
      [[ $(stat -c %s "$resp" 2>/dev/null) == "$size" ]] && result=ok || result=fail
    fi
  elif ((rc == 28)); then
    result=hang
  elif ((rc > 128)); then
    exit "$rc"
  else
    result=fail
  fi
  local extra=""
  if [[ $result != ok && $result != hang ]]; then
    json_str "$(head -c 200 "$err") $(head -c 100 "$resp" 2>/dev/null)"
    extra=",\"detail\":$REPLY"
  fi
  emit "{\"check\":\"$kind\",\"from\":\"$from\",\"to\":\"$to\",\"size\":$size,\"result\":\"$result\",\"http_code\":$code,\"curl_rc\":$rc,\"seconds\":$secs$extra}"
}

# one DF ping; sets PING_RESULT (ok|fail) and PING_REASON (reply|no_reply|local_mtu|frag_needed|error), PING_MTU
df_probe() { # FROM TO SIZE
  local from=$1 to=$2 size=$3 out rc
  local -a fam=(-4 -s $((size - 28)))
  [[ ${ADDR[$to]} == *:* ]] && fam=(-6 -s $((size - 48)))
  fg_run ip netns exec "${NS[$from]}" ping "${fam[@]}" -n -M "do" -c 1 -W "${PING_WAIT:-0.3}" "${ADDR[$to]}" >"$TMP/ping" 2>&1
  rc=$?
  ((rc > 128)) && exit "$rc"
  out=$(<"$TMP/ping")
  PING_MTU=null
  if [[ $out =~ mtu[\ =]+([0-9]+) ]]; then PING_MTU=${BASH_REMATCH[1]}; fi
  if ((rc == 0)); then
    PING_RESULT=ok PING_REASON=reply
  else
    PING_RESULT=fail
    if [[ $out == *"message too long"* || $out == *"local error"* ]]; then
      PING_REASON=local_mtu
    elif [[ $out == *"Frag needed"* || $out == *"frag needed"* ]]; then
      PING_REASON=frag_needed
    elif ((rc == 1)); then
      PING_REASON=no_reply
    else
      PING_REASON=error
    fi
  fi
}

cmd_dfping() { # FROM TO SIZE
  (($# == 3)) || usage_die "dfping FROM TO SIZE"
  local from=$1 to=$2 size=$3
  check_flow "$from" "$to"
  { is_uint "$size" && ((size >= 28)); } || usage_die "dfping SIZE must be an integer >= 28 (IP packet bytes)"
  require_lab
  make_tmp
  local t0
  now_us t0
  df_probe "$from" "$to" "$size"
  since "$t0"
  emit "{\"check\":\"dfping\",\"from\":\"$from\",\"to\":\"$to\",\"size\":$size,\"result\":\"$PING_RESULT\",\"reason\":\"$PING_REASON\",\"reported_mtu\":$PING_MTU,\"seconds\":$REPLY}"
}

route_dev_mtu() { # FROM TO -> REPLY = MTU of the device the route uses (or the route's mtu)
  local line dev
  line=$(ipn "$1" route get "${ADDR[$2]}" 2>/dev/null | head -1)
  if [[ $line =~ \ mtu\ ([0-9]+) ]]; then
    REPLY=${BASH_REMATCH[1]}
    return
  fi
  [[ $line =~ \ dev\ ([^ ]+) ]] || die "no route from $1 to $2"
  dev=${BASH_REMATCH[1]}
  line=$(ipn "$1" -o link show dev "$dev")
  [[ $line =~ \ mtu\ ([0-9]+) ]] || die "cannot read mtu of $dev in $1"
  REPLY=${BASH_REMATCH[1]}
}

cmd_pmtu_search() { # FROM TO
  (($# == 2)) || usage_die "pmtu-search FROM TO"
  local from=$1 to=$2
  check_flow "$from" "$to"
  require_lab
  make_tmp
  local t0 probes=0 lo hi mid best
  now_us t0
  route_dev_mtu "$from" "$to"
  hi=$REPLY
  local upper=$hi
  df_probe "$from" "$to" "$hi"
  probes=$((probes + 1))
  if [[ $PING_RESULT == ok ]]; then
    best=$hi
  else
    lo=28
    [[ ${ADDR[$to]} == *:* ]] && lo=48
    df_probe "$from" "$to" "$lo"
    probes=$((probes + 1))
    if [[ $PING_RESULT != ok ]]; then
      best=0
    else
      # invariant: lo works, hi does not
      while ((hi - lo > 1)); do
        mid=$(((lo + hi) / 2))
        df_probe "$from" "$to" "$mid"
        probes=$((probes + 1))
        if [[ $PING_RESULT == ok ]]; then lo=$mid; else hi=$mid; fi
      done
      best=$lo
    fi
  fi
  since "$t0"
  emit "{\"check\":\"pmtu-search\",\"from\":\"$from\",\"to\":\"$to\",\"bytes\":$best,\"upper_bound\":$upper,\"probes\":$probes,\"seconds\":$REPLY}"
}

gso_devs() { # FROM -> REPLY array of "role:dev" on the sender path
  case $1 in
    podA) GSO_DEVS=(podA:eth0 "nodeA:${OVERLAY_IFS[0]}" nodeA:eth0) ;;
    podB) GSO_DEVS=(podB:eth0 "nodeB:${OVERLAY_IFS[0]}" nodeB:eth0) ;;
    nodeA) GSO_DEVS=("nodeA:${OVERLAY_IFS[0]}" nodeA:eth0) ;;
    nodeB) GSO_DEVS=("nodeB:${OVERLAY_IFS[0]}" nodeB:eth0) ;;
  esac
}

cmd_iperf() { # FROM TO
  (($# == 2)) || usage_die "iperf FROM TO"
  local from=$1 to=$2
  check_flow "$from" "$to"
  require_lab
  load_config
  make_tmp
  local secs=${IPERF_SECONDS:-2} port=${IPERF_PORT:-5201} gso=${IPERF_GSO:-off}
  { is_uint "$secs" && ((secs >= 1)); } || usage_die "IPERF_SECONDS must be an integer >= 1"
  local srv=$to
  srv=${srv%6}
  srv=${srv%-ul}

  ip netns exec "${NS[$srv]}" iperf3 -s -1 -p "$port" </dev/null >"$TMP/iperf-server.log" 2>&1 &
  local spid=$!
  CMD_PIDS+=("$spid")
  record_pid "$spid" "$srv" iperf-server
  local i
  for ((i = 0; i < 100; i++)); do
    [[ -n $(nsx "$srv" ss -Hltn "sport = :$port" 2>/dev/null) ]] && break
    sleep_s 0.02
  done
  local -a restore=()
  local d role dev old
  if [[ $gso == off ]]; then
    gso_devs "$from"
    for d in "${GSO_DEVS[@]}"; do
      role=${d%%:*} dev=${d#*:}
      old=$(ipn "$role" -d link show dev "$dev" | grep -o 'gso_max_segs [0-9]*' | head -1)
      old=${old#gso_max_segs }
      restore+=("$role:$dev:${old:-65535}")
      x ipn "$role" link set dev "$dev" gso_max_segs 1
    done
  fi
  local t0 rc
  now_us t0
  fg_run timeout -k 1 $((secs + 5)) ip netns exec "${NS[$from]}" \
    iperf3 -c "${ADDR[$to]}" -p "$port" -t "$secs" -J --connect-timeout 2000 >"$TMP/iperf.json" 2>"$TMP/iperf.err"
  rc=$?
  since "$t0"
  local took=$REPLY
  for d in "${restore[@]}"; do
    role=${d%%:*} d=${d#*:} dev=${d%%:*} old=${d#*:}
    ipn "$role" link set dev "$dev" gso_max_segs "$old"
  done
  kill -TERM "$spid" 2>/dev/null
  wait "$spid" 2>/dev/null
  ((rc > 128 && rc != 137)) && exit "$rc"
  local parsed sent=0 recv=0 retr=0 result
  parsed=$(node -e '
    let j; try { j = JSON.parse(require("fs").readFileSync(0, "utf8")); } catch (e) { console.log("parse"); process.exit(0); }
    if (j.error || !j.end || !j.end.sum_sent) { console.log("error"); process.exit(0); }
    const s = j.end.sum_sent, r = j.end.sum_received || { bits_per_second: 0 };
    console.log(["ok", (s.bits_per_second / 1e6).toFixed(1), (r.bits_per_second / 1e6).toFixed(1), s.retransmits || 0].join(" "));
  ' <"$TMP/iperf.json" 2>/dev/null)
  read -r result sent recv retr <<<"$parsed"
  if ((rc == 124 || rc == 137)); then
    result=hang sent=0 recv=0 retr=0
  elif [[ $result != ok ]]; then
    result=error
  elif [[ $recv == 0.0 ]]; then
    result=hang
  fi
  local extra=""
  if [[ $result == error ]]; then
    json_str "$(head -c 200 "$TMP/iperf.err") $(grep -o '"error":[^}]*' "$TMP/iperf.json" | head -c 200)"
    extra=",\"detail\":$REPLY"
  fi
  emit "{\"check\":\"iperf\",\"from\":\"$from\",\"to\":\"$to\",\"result\":\"$result\",\"mbps_sent\":${sent:-0},\"mbps_received\":${recv:-0},\"retransmits\":${retr:-0},\"duration\":$secs,\"gso\":\"$gso\",\"rc\":$rc,\"seconds\":$took$extra}"
}

clamp_nodes() {
  local list=${CLAMP_NODES:-nodeA,nodeB} n
  CLAMP_NODE_LIST=()
  for n in ${list//,/ }; do
    case $n in nodeA | nodeB) CLAMP_NODE_LIST+=("$n") ;; *) usage_die "CLAMP_NODES: unknown node '$n'" ;; esac
  done
}

count_rules() { # NODE -> REPLY = "legacy nft legacy6 nft6" counts of TCPMSS rules
  local n=$1 a b c d
  a=$(nsx "$n" iptables-legacy-save 2>/dev/null | grep -c -- '-j TCPMSS')
  b=$(nsx "$n" iptables-nft-save 2>/dev/null | grep -c -- '-j TCPMSS')
  c=$(nsx "$n" ip6tables-legacy-save 2>/dev/null | grep -c -- '-j TCPMSS')
  d=$(nsx "$n" ip6tables-nft-save 2>/dev/null | grep -c -- '-j TCPMSS')
  REPLY="${a:-0} ${b:-0} ${c:-0} ${d:-0}"
}

cmd_clamp() {
  local script=${CLAMP_SCRIPT:-} envf=${CLAMP_ENV:-} backend=${IPT_BACKEND:-none}
  [[ -n $script && -f $script ]] || usage_die "CLAMP_SCRIPT must name a script file, got '$script'"
  [[ -z $envf || -f $envf ]] || usage_die "CLAMP_ENV must name a file, got '$envf'"
  case $backend in legacy | nft | none) ;; *) usage_die "IPT_BACKEND must be legacy, nft or none" ;; esac
  require_lab
  make_tmp
  clamp_nodes
  local -a envs=()
  local line k
  if [[ -n $envf ]]; then
    while IFS= read -r line || [[ -n $line ]]; do
      line=${line%$'\r'}
      [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
      k=${line%%=*}
      [[ $line == *=* && $k =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || usage_die "CLAMP_ENV: bad line '$line'"
      local v=${line#*=}
      if [[ $v =~ ^\"(.*)\"$ ]]; then
        # double quotes: \n is a newline, \\ a backslash, \" a quote (multi-line values such as rule lists)
        v=${BASH_REMATCH[1]}
        [[ $v =~ (^|[^\\])(\\\\)*\\[^n\\\"] || $v =~ (^|[^\\])(\\\\)*\\$ ]] && usage_die "CLAMP_ENV: bad escape in '$line' (\\n, \\\\ and \\\" only)"
        v=${v//\\\\/$'\x01'}
        v=${v//\\n/$'\n'}
        v=${v//\\\"/\"}
        v=${v//$'\x01'/\\}
      elif [[ $v =~ ^\'(.*)\'$ ]]; then
        v=${BASH_REMATCH[1]}
      fi
      # HOST_IP without a value (a downward-API field a file cannot carry) is left to the lab
      [[ $k == HOST_IP && -z $v ]] && continue
      envs+=("$k=$v")
    done <"$envf"
  fi
  local n t0 rc bin
  for n in "${CLAMP_NODE_LIST[@]}"; do
    now_us t0
    if [[ $backend != none ]]; then
      for bin in iptables ip6tables; do
        nsx "$n" "$bin-$backend" -w -t mangle -N KUBE-IPTABLES-HINT 2>/dev/null
        nsx "$n" "$bin-$backend" -w -t mangle -N KUBE-KUBELET-CANARY 2>/dev/null
      done
    fi
    fg_run timeout -k 1 "${CLAMP_TIMEOUT:-15}" ip netns exec "${NS[$n]}" env -i \
      PATH="$STATE/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
      NODE_NAME="$n" HOST_IP="${ADDR[$n-ul]}" "${envs[@]}" sh "$script" </dev/null >"$TMP/clamp-$n.log" 2>&1
    rc=$?
    ((rc > 128 && rc != 137)) && exit "$rc"
    since "$t0"
    local secs=$REPLY
    count_rules "$n"
    local -a cnt
    read -ra cnt <<<"$REPLY"
    local extra=""
    if ((rc != 0)); then
      json_str "$(tail -c 300 "$TMP/clamp-$n.log")"
      extra=",\"detail\":$REPLY"
    fi
    emit "{\"check\":\"clamp\",\"node\":\"$n\",\"result\":\"$([[ $rc == 0 ]] && echo ok || echo fail)\",\"rc\":$rc,\"ipt_backend\":\"$backend\",\"tcpmss_rules_legacy\":${cnt[0]},\"tcpmss_rules_nft\":${cnt[1]},\"tcpmss_rules6_legacy\":${cnt[2]},\"tcpmss_rules6_nft\":${cnt[3]},\"seconds\":$secs$extra}"
  done
}

cmd_unclamp() {
  require_lab
  clamp_nodes
  local n t
  for n in "${CLAMP_NODE_LIST[@]}"; do
    for t in $(nsx "$n" cat /proc/net/ip_tables_names 2>/dev/null); do
      nsx "$n" iptables-legacy -w -t "$t" -F
      nsx "$n" iptables-legacy -w -t "$t" -X
    done
    for t in $(nsx "$n" cat /proc/net/ip6_tables_names 2>/dev/null); do
      nsx "$n" ip6tables-legacy -w -t "$t" -F
      nsx "$n" ip6tables-legacy -w -t "$t" -X
    done
    nsx "$n" nft flush ruleset 2>/dev/null || nsx "$n" iptables-nft -w -t mangle -F 2>/dev/null
    count_rules "$n"
    local -a cnt
    read -ra cnt <<<"$REPLY"
    emit "{\"check\":\"unclamp\",\"node\":\"$n\",\"result\":\"ok\",\"tcpmss_rules_legacy\":${cnt[0]},\"tcpmss_rules_nft\":${cnt[1]}}"
  done
}

cmd_counters() {
  require_lab
  local r icmp frag out
  local s=""
  for r in wanA wanB; do
    out=$(nsx "$r" iptables-nft-save -c -t filter 2>/dev/null)
    icmp=$(awk '/-A OUTPUT/ && /icmp/ { gsub(/[][]/, "", $1); split($1, a, ":"); s += a[1] } END { print s + 0 }' <<<"$out")
    frag=$(awk '/-A FORWARD/ && / -f / { gsub(/[][]/, "", $1); split($1, a, ":"); s += a[1] } END { print s + 0 }' <<<"$out")
    s+=",\"icmp_frag_needed_dropped_$r\":$icmp,\"fragments_dropped_$r\":$frag"
  done
  emit "{\"check\":\"counters\"$s}"
}

# ---------------------------------------------------------------- MTU changes with traffic (lab/healing.ts)
cmd_repod() { # POD MTU
  (($# == 2)) || usage_die "repod POD MTU"
  local pod=$1 mtu=$2 lc var
  case $pod in
    podA) lc=a var=POD_MTU_A ;;
    podB) lc=b var=POD_MTU_B ;;
    *) usage_die "repod: POD must be podA or podB, got '$pod'" ;;
  esac
  { is_uint "$mtu" && ((mtu >= 576 && mtu <= 65535)); } || usage_die "repod: MTU must be an integer 576..65535, got '$mtu'"
  require_lab
  load_config
  x ipn "$pod" link set eth0 mtu "$mtu"
  x ipn "node${pod#pod}" link set "vethp$lc" mtu "$mtu"
  ipn "$pod" route flush cache 2>/dev/null
  ipn "$pod" tcp_metrics flush all 2>/dev/null
  printf -v "$var" '%s' "$mtu"
  save_config
  emit "{\"event\":\"repod\",\"lab_id\":\"$LAB_ID\",\"pod\":\"$pod\",\"mtu\":$mtu}"
}

# A native nft table (inet fmlab-icmp): the clamp script's iptables backend detection does not see it.
cmd_overlay_icmp() { # drop|pass
  (($# == 1)) || usage_die "overlay-icmp drop|pass"
  case $1 in drop | pass) ;; *) usage_die "overlay-icmp: expected drop or pass, got '$1'" ;; esac
  require_lab
  load_config
  [[ $BACKEND == vxlan ]] || usage_die "overlay-icmp models the vxlan overlay (BACKEND=$BACKEND)"
  local n dropped=0 c rule
  rule="iifname \"$VXLAN_IF\" icmp type destination-unreachable icmp code frag-needed counter drop; iifname \"$VXLAN_IF\" icmpv6 type packet-too-big counter drop;"
  for n in nodeA nodeB; do
    c=$(nsx "$n" nft list table inet fmlab-icmp 2>/dev/null | awk '/counter packets/ { for (i = 1; i < NF; i++) if ($i == "packets") s += $(i + 1) } END { print s + 0 }')
    dropped=$((dropped + c))
    nsx "$n" nft delete table inet fmlab-icmp 2>/dev/null
    [[ $1 == drop ]] || continue
    x nsx "$n" nft "add table inet fmlab-icmp; add chain inet fmlab-icmp forward { type filter hook forward priority -10; $rule }; add chain inet fmlab-icmp input { type filter hook input priority -10; $rule }"
  done
  emit "{\"event\":\"overlay-icmp\",\"lab_id\":\"$LAB_ID\",\"mode\":\"$1\",\"dropped_before\":$dropped}"
}

run_one() { # words of one check
  local c=$1
  shift
  case $c in
    post | get) (($# == 3)) || usage_die "$c SIZE FROM TO"; http_check "$c" "$@" ;;
    dfping) cmd_dfping "$@" ;;
    pmtu-search) cmd_pmtu_search "$@" ;;
    iperf) cmd_iperf "$@" ;;
    clamp) cmd_clamp "$@" ;;
    unclamp) cmd_unclamp "$@" ;;
    counters) cmd_counters "$@" ;;
    reconfig) cmd_reconfig "$@" ;;
    set)
      local a k
      for a in "$@"; do
        k=${a%%=*}
        [[ $a == *=* && " ${RUN_SETTABLE_VARS[*]} " == *" $k "* ]] || usage_die "set: unknown or bad NAME=value '$a'"
        printf -v "$k" '%s' "${a#*=}"
        export "${k?}"
      done
      ;;
    *) usage_die "unknown check '$c'" ;;
  esac
  # temp files of one check are not needed by the next
  if [[ -n $TMP && -d $TMP ]]; then rm -rf "$TMP"; fi
  TMP=""
}

cmd_run() {
  (($# > 0)) || usage_die "run CHECK... (each CHECK one quoted argument)"
  local -a words
  local a
  for a in "$@"; do
    read -ra words <<<"$a"
    ((${#words[@]} > 0)) || usage_die "empty check"
    case ${words[0]} in post | get | dfping | pmtu-search | iperf | clamp | unclamp | counters | reconfig | set) ;; *) usage_die "unknown check '${words[0]}'" ;; esac
  done
  [[ -n ${LAB_ID:-} ]] || LAB_ID="fmlab-$$"
  export LAB_ID
  LAB_OWNER_PID=$$ cmd_up
  TEARDOWN_ON_EXIT=1
  for a in "$@"; do
    read -ra words <<<"$a"
    run_one "${words[@]}"
  done
  TEARDOWN_ON_EXIT=0
  do_down
}

main() {
  (($# > 0)) || usage_die "mtulab.sh up|down|reconfig|post|get|dfping|pmtu-search|iperf|clamp|unclamp|counters|run|list (see the header)"
  local cmd=$1
  shift
  case $cmd in
    up) cmd_up ;;
    down) cmd_down ;;
    list) cmd_list ;;
    reconfig | set) cmd_reconfig "$@" ;;
    post | get) (($# == 3)) || usage_die "$cmd SIZE FROM TO"; http_check "$cmd" "$@" ;;
    dfping) cmd_dfping "$@" ;;
    pmtu-search) cmd_pmtu_search "$@" ;;
    iperf) cmd_iperf "$@" ;;
    clamp) cmd_clamp "$@" ;;
    unclamp) cmd_unclamp "$@" ;;
    counters) cmd_counters "$@" ;;
    repod) cmd_repod "$@" ;;
    overlay-icmp) cmd_overlay_icmp "$@" ;;
    run) cmd_run "$@" ;;
    -h | --help | help) sed -n '2,/^$/p' "$SELF" | sed 's/^# \{0,1\}//' ;;
    *) usage_die "unknown subcommand '$cmd'" ;;
  esac
}

main "$@"

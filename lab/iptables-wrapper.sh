#!/bin/sh
# Emulates kubernetes-sigs/iptables-wrappers (what the flannel image's `iptables` is) for the
# mtulab clamp runs: `iptables`, `ip6tables`, `*-save`, `*-restore` are symlinks to this file in
# the lab's bin dir, which mtulab.sh puts first on the clamp script's PATH. The backend is chosen
# the way the wrapper's Go detector does (pkg/xtables/detect.go): kubelet's hint chains
# (KUBE-IPTABLES-HINT or KUBE-KUBELET-CANARY) in iptables-nft's mangle table -> nft; in
# iptables-legacy -> legacy; neither -> nft. `mtulab.sh clamp` with IPT_BACKEND=legacy|nft
# creates those chains with the chosen backend first, like kubelet on a real node.
# Unlike the real wrapper this re-detects on every call instead of re-pointing alternatives.
set -u
hint='^:(KUBE-IPTABLES-HINT|KUBE-KUBELET-CANARY)'
if { iptables-nft-save -t mangle; ip6tables-nft-save -t mangle; } 2>/dev/null | grep -Eq "$hint"; then
  mode=nft
elif { iptables-legacy-save; ip6tables-legacy-save; } 2>/dev/null | grep -Eq "$hint"; then
  mode=legacy
else
  mode=nft
fi
name=${0##*/}
case "$name" in
  *-save) exec "${name%-save}-$mode-save" "$@" ;;
  *-restore) exec "${name%-restore}-$mode-restore" "$@" ;;
  iptables | ip6tables) exec "$name-$mode" "$@" ;;
  *) echo "iptables-wrapper: unexpected name $name" >&2; exit 2 ;;
esac

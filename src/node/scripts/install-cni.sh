#!/bin/sh
# install-cni: install flannel's CNI config list on the node, but only when the node has every
# plugin binary the list needs.
#
# Env:
#   CNI_CONF_SRC      the conflist from the ConfigMap, e.g. /etc/kube-flannel/cni-conf.json
#   CNI_CONF_DEST     where the container runtime reads it, e.g. /etc/cni/net.d/10-flannel.conflist
#   CNI_BIN_DIR       the node's CNI plugin directory as mounted in this container, e.g. /opt/cni/bin
#   CNI_BIN_DIR_HOST  the same directory's path on the node (for messages)
#   CNI_PLUGINS       space-separated plugin binaries the conflist runs: its entries' types plus
#                     what flannel delegates to (bridge, host-local)
#
# Why: the runtime runs every plugin of the list for every pod; one missing binary (say `tuning`,
# chained for tcp_mtu_probing) makes every pod creation on the node fail, where the old list
# worked. So nothing is installed unless every binary is there: the init container fails, naming
# the path, flanneld does not start on that node, and the node keeps the conflist it had.
# The copy is atomic (temp file in the same directory, then rename), as flannel's install-conf.
set -euf

me=install-cni
log() { printf '%s: %s\n' "$me" "$*"; }
die() { printf '%s: error: %s\n' "$me" "$*" >&2; exit 1; }

for v in CNI_CONF_SRC CNI_CONF_DEST CNI_BIN_DIR CNI_BIN_DIR_HOST CNI_PLUGINS; do
	eval "[ -n \"\${$v:-}\" ]" || die "$v is not set"
done
abs_path() {
	case $1 in /*) ;; *) return 1 ;; esac
	case $1 in *[!A-Za-z0-9/._-]* | */../* | */.. | *//*) return 1 ;; esac
}
for v in CNI_CONF_SRC CNI_CONF_DEST CNI_BIN_DIR CNI_BIN_DIR_HOST; do
	p=$(eval "printf '%s' \"\$$v\"")
	abs_path "$p" || die "$v: expected an absolute path of [A-Za-z0-9/._-], got '$p'"
done

missing=''
seen=' '
for plugin in $CNI_PLUGINS; do
	case $plugin in '' | [!a-z0-9]* | *[!a-z0-9._-]*) die "CNI_PLUGINS: invalid plugin name '$plugin'" ;; esac
	case $seen in *" $plugin "*) die "CNI_PLUGINS: $plugin listed twice" ;; esac
	seen="$seen$plugin "
	[ -f "$CNI_BIN_DIR/$plugin" ] && [ -x "$CNI_BIN_DIR/$plugin" ] || missing="$missing $CNI_BIN_DIR_HOST/$plugin"
done
[ "$seen" != ' ' ] || die "CNI_PLUGINS is empty"
[ -z "$missing" ] ||
	die "CNI plugin binaries missing on this node:$missing; $CNI_CONF_DEST was not changed (every pod creation would fail with it). Install them (e.g. the containernetworking-plugins package) or leave out what needs them (pmtud.mode: off drops tuning)"

[ -f "$CNI_CONF_SRC" ] || die "$CNI_CONF_SRC does not exist"
dir=${CNI_CONF_DEST%/*}
tmp="$dir/.${CNI_CONF_DEST##*/}.tmp"
cp "$CNI_CONF_SRC" "$tmp" || die "cannot write $tmp"
mv -f "$tmp" "$CNI_CONF_DEST" || { rm -f "$tmp"; die "cannot rename $tmp to $CNI_CONF_DEST"; }
log "installed $CNI_CONF_DEST; plugins present in $CNI_BIN_DIR_HOST:$seen"

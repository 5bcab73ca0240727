#!/bin/sh
# link-cni-plugins (k3s): make k3s's bundled CNI plugins visible where the container runtime looks.
#
# Env CNI_BIN_DIR: the node's CNI plugin directory as mounted here (the runtime's bin_dir);
# K3S_CNI_DIRS: space-separated directories k3s keeps its plugins in, newest layout first;
# CNI_PLUGINS: the plugin binaries the conflist runs, plus loopback, which the runtime runs itself.
#
# Why: with --flannel-backend=none k3s leaves containerd's CNI directories at containerd's defaults
# (/opt/cni/bin, /etc/cni/net.d: pkg/executor/embed/embed.go sets them only for its own flannel),
# while its plugins stay in its data directory: data/cni since the 2024-10 releases (k3s #10868),
# data/current/bin before. Each missing plugin gets a symlink to k3s's; a plugin already there (the
# node's own, or a live link) is left alone, a dangling link from an older k3s is replaced.
set -euf

me=link-cni-plugins
log() { printf '%s: %s\n' "$me" "$*"; }
die() { printf '%s: error: %s\n' "$me" "$*" >&2; exit 1; }

[ -n "${CNI_BIN_DIR:-}" ] || die "CNI_BIN_DIR is not set"
[ -n "${K3S_CNI_DIRS:-}" ] || die "K3S_CNI_DIRS is not set"
[ -n "${CNI_PLUGINS:-}" ] || die "CNI_PLUGINS is not set"
for d in "$CNI_BIN_DIR" $K3S_CNI_DIRS; do
	case $d in /*) ;; *) die "expected an absolute path, got '$d'" ;; esac
	case $d in *[!A-Za-z0-9/._-]* | */../* | */..) die "expected a path of [A-Za-z0-9/._-], got '$d'" ;; esac
done
[ -d "$CNI_BIN_DIR" ] || die "$CNI_BIN_DIR is not a directory"

linked=0
for p in $CNI_PLUGINS; do
	case $p in '' | [!a-z0-9]* | *[!a-z0-9._-]*) die "CNI_PLUGINS: invalid plugin name '$p'" ;; esac
	if [ -e "$CNI_BIN_DIR/$p" ]; then
		log "$p: present"
		continue
	fi
	src=
	for d in $K3S_CNI_DIRS; do
		if [ -x "$d/$p" ]; then src=$d/$p; break; fi
	done
	if [ -z "$src" ]; then
		log "$p: not in $CNI_BIN_DIR nor in k3s's ($K3S_CNI_DIRS)"
		continue
	fi
	ln -sfn "$src" "$CNI_BIN_DIR/$p"
	log "$p: linked to $src"
	linked=$((linked + 1))
done
log "$linked plugin(s) linked"

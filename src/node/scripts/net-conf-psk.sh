#!/bin/sh
# net-conf-psk: give flanneld a copy of net-conf.json with the wireguard pre-shared key.
#
# Env NET_CONF: the ConfigMap's net-conf.json (no key in it); PSK_FILE: the key, from a Secret
# volume; NET_CONF_OUT: the copy flanneld reads (--net-config-path), on a memory volume.
#
# Why: flanneld v0.28.9 reads the key only from Backend.PSK in net-conf.json
# (pkg/backend/wireguard/wireguard.go), and the ConfigMap is no place for a secret. The
# ConfigMap's file is written by flannel-mtu with two-space indentation, so the Backend object
# opens on a line of its own and the key goes in as its first member.
set -euf

me=net-conf-psk
log() { printf '%s: %s\n' "$me" "$*"; }
die() { printf '%s: error: %s\n' "$me" "$*" >&2; exit 1; }

[ -n "${NET_CONF:-}" ] || die "NET_CONF is not set"
[ -n "${PSK_FILE:-}" ] || die "PSK_FILE is not set"
[ -n "${NET_CONF_OUT:-}" ] || die "NET_CONF_OUT is not set"
[ -r "$PSK_FILE" ] || die "cannot read the pre-shared key $PSK_FILE (is the Secret there, with that key?)"
psk=$(cat "$PSK_FILE")
# A WireGuard key is 32 bytes in base64: 43 characters and one '=' (wg genpsk).
case $psk in *[!A-Za-z0-9+/=]* | *=?*) die "$PSK_FILE is not a WireGuard key (want 44 base64 characters, from wg genpsk)" ;; esac
[ "${#psk}" -eq 44 ] || die "$PSK_FILE is not a WireGuard key (want 44 base64 characters, from wg genpsk; got ${#psk})"
case $psk in *=) ;; *) die "$PSK_FILE is not a WireGuard key (want 44 base64 characters ending in '=')" ;; esac

umask 077
tmp=$NET_CONF_OUT.tmp
awk -v psk="$psk" '
	{ print }
	/^  "Backend": \{$/ { print "    \"PSK\": \"" psk "\","; n++ }
	END { exit n == 1 ? 0 : 1 }
' "$NET_CONF" >"$tmp" || { rm -f "$tmp"; die "$NET_CONF has no single Backend object to add the key to"; }
mv "$tmp" "$NET_CONF_OUT"
log "wrote $NET_CONF_OUT: $NET_CONF with Backend.PSK from $PSK_FILE"

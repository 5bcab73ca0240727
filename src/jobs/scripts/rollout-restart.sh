#!/bin/sh
# rollout-restart: after flannel has rolled out a new MTU, recreate the pods of overlay workloads
# so that each gets a veth with the new MTU (a pod's MTU is fixed when its sandbox is created).
#
# Env (all required; the values come from the environment file, never from a command line):
#   FLANNEL_NAMESPACE        the namespace of flannel's DaemonSets
#   FLANNEL_DAEMONSETS       space-separated flannel DaemonSets to wait for first, in this order
#                            (kube-flannel-ds; in mtuMode per-path one per cloud, kube-flannel-ds-<cloud>)
#   ROLLOUT_NAMESPACES       space-separated namespaces, restarted one at a time, in this order
#   ROLLOUT_SELECTOR         label selector (key, !key, key=value, key!=value, comma-separated) or empty
#   ROLLOUT_TIMEOUT_SECONDS  how long each `kubectl rollout status` may wait
#
# Order: wait for every flannel DaemonSet, one after the other; then per namespace restart every matching Deployment,
# StatefulSet and DaemonSet whose pods use the overlay (hostNetwork ones are skipped) and wait for
# each to be rolled out before the next namespace. Failures are collected, reported at the end,
# and make the exit status 1.
set -euf

me=rollout-restart
nl='
'
log() { printf '%s: %s\n' "$me" "$*"; }
die() { printf '%s: error: %s\n' "$me" "$*" >&2; exit 2; }

# RFC 1123 label, as Kubernetes namespaces and our names are: [a-z0-9]([-a-z0-9]*[a-z0-9])?, <= 63.
valid_label() {
	case $1 in '' | [!a-z0-9]* | *[!a-z0-9] | *[!a-z0-9-]*) return 1 ;; esac
	[ "${#1}" -le 63 ]
}
# RFC 1123 subdomain (workload names): labels joined by dots, <= 253.
valid_subdomain() {
	case $1 in '' | [!a-z0-9]* | *[!a-z0-9] | *[!a-z0-9.-]* | *..* | *.-* | *-.*) return 1 ;; esac
	[ "${#1}" -le 253 ]
}
# One selector term (key, !key, key=value, key==value, key!=value with Kubernetes label keys and
# values) as a POSIX ERE: the same text as SELECTOR_TERM_ERE in src/model/validate.ts, so this script
# accepts exactly the selectors the loader does. Set-based terms (`in (...)`) are not accepted.
selector_term_ere='(!([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?|([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?((==|=|!=)[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?)'
valid_selector() {
	# the charset check comes first: it also keeps a newline out of the one-line grep
	case $1 in '') return 0 ;; *[!A-Za-z0-9._/=,!-]*) return 1 ;; esac
	[ "${#1}" -le 1024 ] && printf '%s\n' "$1" | grep -Eqx -e "$selector_term_ere(,$selector_term_ere)*"
}
# Decimal without a leading zero, 1..86400.
valid_seconds() {
	case $1 in '' | 0* | *[!0-9]*) return 1 ;; esac
	[ "${#1}" -le 5 ] && [ "$1" -ge 1 ] && [ "$1" -le 86400 ]
}

for v in FLANNEL_NAMESPACE FLANNEL_DAEMONSETS ROLLOUT_NAMESPACES ROLLOUT_SELECTOR ROLLOUT_TIMEOUT_SECONDS; do
	eval "[ \"\${$v+set}\" = set ]" || die "$v is not set"
done

# Validate everything before calling kubectl once.
valid_label "$FLANNEL_NAMESPACE" || die "FLANNEL_NAMESPACE: invalid namespace '$FLANNEL_NAMESPACE'"
valid_selector "$ROLLOUT_SELECTOR" ||
	die "ROLLOUT_SELECTOR: invalid selector '$ROLLOUT_SELECTOR' (want comma-separated key, !key, key=value or key!=value terms)"
valid_seconds "$ROLLOUT_TIMEOUT_SECONDS" ||
	die "ROLLOUT_TIMEOUT_SECONDS: invalid value '$ROLLOUT_TIMEOUT_SECONDS' (want an integer 1..86400)"
# check_list VAR VALUE VALIDATOR CHARSET NOUN: a space-separated list of unique, valid names;
# prints it as " a b " for exact matching.
check_list() {
	case $2 in *[!\ $4]*) die "$1: invalid character in '$2'" ;; esac
	list=' '
	for item in $2; do
		"$3" "$item" || die "$1: invalid $5 '$item'"
		case $list in *" $item "*) die "$1: $item listed twice" ;; esac
		list="$list$item "
	done
	[ "$list" != ' ' ] || die "$1 is empty"
	printf '%s' "$list"
}
check_list ROLLOUT_NAMESPACES "$ROLLOUT_NAMESPACES" valid_label 'a-z0-9-' namespace >/dev/null
# shellcheck disable=SC2153 # FLANNEL_DAEMONSETS comes from the environment
flannel_daemonsets=$(check_list FLANNEL_DAEMONSETS "$FLANNEL_DAEMONSETS" valid_subdomain 'a-z0-9.-' name)

command -v kubectl >/dev/null 2>&1 || die "kubectl not found on PATH ($PATH)"

timeout=$ROLLOUT_TIMEOUT_SECONDS
sel=$ROLLOUT_SELECTOR

# 1. flannel first, every DaemonSet of it in order: pods recreated before the new config is on
# their node would get the old MTU. The first one that does not roll out stops the Job.
for ds in $FLANNEL_DAEMONSETS; do
	log "waiting for daemonset/$ds in $FLANNEL_NAMESPACE to roll out (timeout ${timeout}s)"
	if ! kubectl rollout status "daemonset.apps/$ds" -n "$FLANNEL_NAMESPACE" --timeout="${timeout}s"; then
		printf '%s: error: daemonset %s/%s did not finish rolling out within %ss; no workload was restarted (pods recreated now could get the old MTU). Check: kubectl -n %s rollout status ds/%s\n' \
			"$me" "$FLANNEL_NAMESPACE" "$ds" "$timeout" "$FLANNEL_NAMESPACE" "$ds" >&2
		exit 1
	fi
	log "daemonset/$ds is rolled out"
done

restarted=''
skipped=''
failed=''
n_restarted=0
n_skipped=0
n_failed=0
fail() { # $1 what, $2 why
	failed="$failed$1: $2$nl"
	n_failed=$((n_failed + 1))
	printf '%s: FAILED %s: %s\n' "$me" "$1" "$2" >&2
}
skip() {
	skipped="$skipped$1 ($2)$nl"
	n_skipped=$((n_skipped + 1))
	log "skip $1: $2"
}

# One line per workload: Kind|name|hostNetwork|updateStrategy (empty fields stay empty with IFS='|').
jsonpath='{range .items[*]}{.kind}{"|"}{.metadata.name}{"|"}{.spec.template.spec.hostNetwork}{"|"}{.spec.updateStrategy.type}{"\n"}{end}'

# 2. one namespace at a time.
for ns in $ROLLOUT_NAMESPACES; do
	log "namespace $ns: listing deployments, statefulsets and daemonsets${sel:+ matching $sel}"
	if [ -n "$sel" ]; then
		list=$(kubectl get deployments.apps,statefulsets.apps,daemonsets.apps -n "$ns" --selector="$sel" --request-timeout=60s -o "jsonpath=$jsonpath") ||
			{ fail "$ns" "cannot list workloads"; continue; }
	else
		list=$(kubectl get deployments.apps,statefulsets.apps,daemonsets.apps -n "$ns" --request-timeout=60s -o "jsonpath=$jsonpath") ||
			{ fail "$ns" "cannot list workloads"; continue; }
	fi
	pending=''
	while IFS='|' read -r kind name hostnet strategy; do
		[ -n "$kind$name" ] || continue
		case $kind in
		Deployment) res=deployment.apps ;;
		StatefulSet) res=statefulset.apps ;;
		DaemonSet) res=daemonset.apps ;;
		*) fail "$ns/$kind/$name" "unexpected kind from kubectl get"; continue ;;
		esac
		valid_subdomain "$name" || { fail "$ns/$res/<invalid>" "unexpected name from kubectl get"; continue; }
		id="$ns/$res/$name"
		if [ "$ns" = "$FLANNEL_NAMESPACE" ] && [ "$kind" = DaemonSet ]; then
			case $flannel_daemonsets in *" $name "*)
				skip "$id" "flannel itself"
				continue
				;;
			esac
		fi
		if [ "$hostnet" = true ]; then
			skip "$id" "hostNetwork: its pods use the node's network, not the overlay"
			continue
		fi
		if [ "$strategy" = OnDelete ]; then
			fail "$id" "updateStrategy OnDelete: a restart does not recreate its pods; delete them to apply the new MTU"
			continue
		fi
		if kubectl rollout restart "$res/$name" -n "$ns" --request-timeout=60s </dev/null; then
			pending="$pending$res/$name$nl"
		else
			fail "$id" "kubectl rollout restart failed"
		fi
	done <<LIST
$list
LIST
	if [ -z "$pending" ]; then
		log "namespace $ns: nothing to restart"
		continue
	fi
	# Wait for every workload of this namespace before touching the next one.
	IFS=$nl
	for w in $pending; do
		unset IFS
		if kubectl rollout status "$w" -n "$ns" --timeout="${timeout}s"; then
			restarted="$restarted$ns/$w$nl"
			n_restarted=$((n_restarted + 1))
			log "restarted $ns/$w"
		else
			fail "$ns/$w" "restarted, but not rolled out within ${timeout}s (see kubectl rollout status above)"
		fi
		IFS=$nl
	done
	unset IFS
done

# 3. the report.
report() { # $1 heading, $2 lines
	[ -n "$2" ] || return 0
	IFS=$nl
	for line in $2; do printf '%s: %s %s\n' "$me" "$1" "$line"; done
	unset IFS
}
log "report: $n_restarted restarted, $n_skipped skipped, $n_failed failed"
report restarted: "$restarted"
report skipped: "$skipped"
report failed: "$failed"
if [ "$n_failed" -gt 0 ]; then
	printf '%s: error: %s workload(s) failed; pods not recreated keep the old MTU\n' "$me" "$n_failed" >&2
	exit 1
fi
log "done"

#!/usr/bin/env bash
# Scale of one edge with its control plane: TUNNELS tunnels (default 1000) x HA connections
# (default 4) created through the API and connected by tunnel-load. Prints, as Markdown: the
# time until every connection registered, the edge's RSS empty and with everything connected
# (idle), and the API latencies (create while the store fills, create and full list with
# TUNNELS tunnels stored and connected). Release build; numbers go to Docs/control-plane.md.
#
#   scripts/bench/control-plane-scale.sh
#   TUNNELS=1000 HA=4 TUNNELCTL=... TUNNEL_LOAD=... scripts/bench/control-plane-scale.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

TUNNELS=${TUNNELS:-1000}
HA=${HA:-4}
if [ -z "${TUNNELCTL:-}" ] || [ -z "${TUNNEL_LOAD:-}" ]; then
    swift build -c release --product tunnelctl >&2
    swift build -c release --product tunnel-load >&2
    bin=$(swift build -c release --show-bin-path)
    TUNNELCTL=${TUNNELCTL:-$bin/tunnelctl}
    TUNNEL_LOAD=${TUNNEL_LOAD:-$bin/tunnel-load}
fi

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
rss() { awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }

"$TUNNELCTL" edge account create scale --zone scale.test --state-dir "$work/state" --cert-out "$work/cert.pem" >/dev/null
"$TUNNELCTL" edge serve --state-dir "$work/state" --connector-address 127.0.0.1:0 --visitor-address 127.0.0.1:0 \
    --api-address 127.0.0.1:0 --loglevel error >"$work/edge.out" 2>"$work/edge.err" &
edge_pid=$!
pids+=("$edge_pid")
for _ in $(seq 100); do grep -q "control-plane API on" "$work/edge.out" 2>/dev/null && break; sleep 0.1; done
api=$(grep -o 'http://[^ ]*/client/v4' "$work/edge.out" | head -1)
connector=$(grep -o 'connectors on [0-9.:]*' "$work/edge.out" | awk '{print $3}')
[ -n "$api" ] && [ -n "$connector" ] || { echo "the edge did not start:" >&2; cat "$work/edge.err" >&2; exit 1; }
rss_empty=$(rss "$edge_pid")

mkfifo "$work/hold"
"$TUNNEL_LOAD" --api-url "$api" --origincert "$work/cert.pem" --edge "$connector" --cacert "$work/state/ca.pem" \
    --tunnels "$TUNNELS" --connections "$HA" --extra 0 --hold <"$work/hold" >"$work/load.out" 2>"$work/load.err" &
load_pid=$!
pids+=("$load_pid")
exec 3>"$work/hold"   # held open: tunnel-load stays connected until it closes
for _ in $(seq 6000); do [ -s "$work/load.out" ] && break; kill -0 "$load_pid" 2>/dev/null || break; sleep 0.1; done
[ -s "$work/load.out" ] || { echo "tunnel-load failed:" >&2; tail -20 "$work/load.err" >&2; exit 1; }
sleep 5   # let the connected edge settle before reading its RSS
rss_connected=$(rss "$edge_pid")
load_rss=$(rss "$load_pid")
exec 3>&-
wait "$load_pid"
rss_after=$(rss "$edge_pid")

python3 - "$work/load.out" "$rss_empty" "$rss_connected" "$rss_after" "$load_rss" <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).readline())
empty, connected, after, load = sys.argv[2:6]
print(f"| {r['tunnels']} tunnels x {r['connections_per_tunnel']} connections | value |")
print("|---|---|")
print(f"| all {r['registered_connections']} connections registered after | {r['register_all_s']} s |")
print(f"| edge RSS: empty / all connected, idle / after they left | {empty} / {connected} / {after} MiB |")
print(f"| tunnel-load RSS (all connectors, in one process) | {load} MiB |")
c, f, l = r['create_ms'], r['create_when_full_ms'], r['list_all_ms']
print(f"| API create while filling the store: p50 / p99 / max | {c['p50']} / {c['p99']} / {c['max']} ms |")
print(f"| API create with {r['tunnels']} stored and connected: p50 / p99 / max | {f['p50']} / {f['p99']} / {f['max']} ms |")
print(f"| API list of all {r['listed']} (per_page 1000): p50 / max | {l['p50']} / {l['max']} ms |")
PY

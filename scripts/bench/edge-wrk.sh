#!/usr/bin/env bash
# Throughput of the edge and connector relative to the origin, in one run: starts a fast origin
# (nginx when installed, else a small Python origin), `tunnelctl edge serve` and `tunnelctl tunnel
# run`, then runs wrk for 1 KB responses through the tunnel and directly against the origin, and
# downloads a 1 GB body once each way with curl (single-stream MB/s). Prints both sides, their
# ratios, and the RSS of the edge and the connector: idle, at the peak of the wrk load, and after
# the 1 GB download.
#
#   scripts/bench/edge-wrk.sh                 # release build of tunnelctl, defaults below
#   EDGE_CMD='...' CONNECTOR_CMD='...' scripts/bench/edge-wrk.sh
#
# EDGE_CMD and CONNECTOR_CMD are templates; these placeholders are substituted:
#   {CERT} {KEY} {CA}            edge certificate, key, and the CA that signed it (PEM files)
#   {CONNECTOR_PORT} {VISITOR_PORT} {ORIGIN_PORT}
#   {TUNNEL_ID} {ACCOUNT} {SECRET} {HOST} {CREDS}   the tunnel, its base64 secret, its hostname,
#                                                   and a credentials JSON file holding them
#   {PEERS}                      the shared reference peers folder (TUNNEL_PEERS_DIR)
#   {EDGE_YML}                   an edge.yml declaring those listeners, certificate and tunnel
# Example with the reference Python edge instead of ours (for comparison):
#   EDGE_CMD='python3 {PEERS}/edge_peer.py --listen 127.0.0.1:{CONNECTOR_PORT} --cert {CERT} --key {KEY} \
#     --visitor 127.0.0.1:{VISITOR_PORT} --tunnel {TUNNEL_ID} {ACCOUNT} {SECRET} {HOST}'
#
# Knobs: DURATION (10s), THREADS (2), CONNECTIONS (64), HA (connector connections, 4),
# BIG (bytes of the single-stream download, 1 GiB; 0 skips it),
# TUNNELCTL (path; default: release build, built with `swift build -c release` if missing),
# BUILD_LOCK (a file to flock around that build).
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
HA=${HA:-4}
BIG=${BIG:-1073741824}
PEERS=${TUNNEL_PEERS_DIR:-$(cd .. && pwd)/shared/peers}

# Tools, installed as .ci/run installs its own (Debian packages; sudo when not root).
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v curl >/dev/null || missing+=(curl)
command -v openssl >/dev/null || missing+=(openssl)
command -v nginx >/dev/null || missing+=(nginx-light)
if [ ${#missing[@]} -gt 0 ]; then
    echo "edge-wrk: installing ${missing[*]}" >&2
    sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null \
        || { echo "edge-wrk: could not install ${missing[*]}; install them and run again" >&2; exit 2; }
fi

if [ -z "${TUNNELCTL:-}" ]; then
    # BUILD_LOCK: a lock file to serialize builds with other users of the tree (flock).
    lock=(); [ -n "${BUILD_LOCK:-}" ] && lock=(flock "$BUILD_LOCK")
    TUNNELCTL=$("${lock[@]}" swift build -c release --show-bin-path)/tunnelctl
    [ -x "$TUNNELCTL" ] || "${lock[@]}" swift build -c release --product tunnelctl >&2
fi
EDGE_CMD=${EDGE_CMD:-"$TUNNELCTL edge serve --config {EDGE_YML} --loglevel error"}
CONNECTOR_CMD=${CONNECTOR_CMD:-"$TUNNELCTL tunnel --edge 127.0.0.1:{CONNECTOR_PORT} --cacert {CA} --ha-connections $HA --loglevel error run --credentials-file {CREDS} --url http://127.0.0.1:{ORIGIN_PORT}"}

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { # url host
    for _ in $(seq 1 200); do
        code=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: $2" "$1" || true)
        [ "$code" = 200 ] && return 0
        sleep 0.1
    done
    echo "edge-wrk: $1 (Host: $2) never answered 200" >&2
    return 1
}
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# PKI: a CA and a leaf for h2.cftunnel.com.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/ca.key" -out "$work/ca.pem" \
    -days 2 -subj "/CN=bench CA" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/edge.key" -out "$work/edge.csr" -subj "/CN=h2.cftunnel.com" 2>/dev/null
printf 'subjectAltName=DNS:h2.cftunnel.com,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' > "$work/leaf.ext"
openssl x509 -req -in "$work/edge.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial -out "$work/edge.pem" -days 2 -extfile "$work/leaf.ext" 2>/dev/null

TUNNEL_ID=$(python3 -c 'import uuid; print(uuid.uuid4())')
ACCOUNT=0123456789abcdef0123456789abcdef
SECRET=$(head -c 32 /dev/urandom | base64)
HOST=bench.test
printf '{"AccountTag":"%s","TunnelSecret":"%s","TunnelID":"%s"}\n' "$ACCOUNT" "$SECRET" "$TUNNEL_ID" > "$work/creds.json"
ORIGIN_PORT=$(free_port)
CONNECTOR_PORT=$(free_port)
VISITOR_PORT=$(free_port)
head -c 1024 /dev/urandom > "$work/1k.bin"
[ "$BIG" -gt 0 ] && truncate -s "$BIG" "$work/big.bin"
cat > "$work/edge.yml" <<EOF
stateDirectory: $work/state
api: {address: "off"}
connectors: {address: "127.0.0.1:$CONNECTOR_PORT", certificate: $work/edge.pem, key: $work/edge.key}
visitors: {address: "127.0.0.1:$VISITOR_PORT"}
tunnels: [{credentialsFile: $work/creds.json, hostnames: [$HOST]}]
EOF

# Origin.
if command -v nginx >/dev/null; then
    origin_kind="nginx $(nginx -v 2>&1 | sed 's/.*nginx\///')"
    cat > "$work/nginx.conf" <<EOF
daemon off; master_process off; worker_processes 1; pid $work/nginx.pid; error_log stderr error;
events { worker_connections 4096; }
http {
  access_log off; client_body_temp_path $work; proxy_temp_path $work; fastcgi_temp_path $work; uwsgi_temp_path $work; scgi_temp_path $work;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$ORIGIN_PORT; root $work; }
}
EOF
    nginx -c "$work/nginx.conf" -p "$work" & pids+=($!)
else
    origin_kind="python3 http.server (nginx not installed)"
    (cd "$work" && python3 -m http.server "$ORIGIN_PORT" --bind 127.0.0.1 >/dev/null 2>&1) & pids+=($!)
fi
wait_http "http://127.0.0.1:$ORIGIN_PORT/1k.bin" "$HOST"

fill() {
    local text=$1
    text=${text//\{CERT\}/$work/edge.pem}; text=${text//\{KEY\}/$work/edge.key}; text=${text//\{CA\}/$work/ca.pem}
    text=${text//\{CONNECTOR_PORT\}/$CONNECTOR_PORT}; text=${text//\{VISITOR_PORT\}/$VISITOR_PORT}; text=${text//\{ORIGIN_PORT\}/$ORIGIN_PORT}
    text=${text//\{TUNNEL_ID\}/$TUNNEL_ID}; text=${text//\{ACCOUNT\}/$ACCOUNT}; text=${text//\{SECRET\}/$SECRET}
    text=${text//\{HOST\}/$HOST}; text=${text//\{CREDS\}/$work/creds.json}; text=${text//\{PEERS\}/$PEERS}; text=${text//\{EDGE_YML\}/$work/edge.yml}
    echo "$text"
}

eval "exec $(fill "$EDGE_CMD")" >"$work/edge.log" 2>&1 & edge_pid=$!; pids+=($edge_pid)
sleep 1
if [ "$CONNECTOR_CMD" = none ]; then
    # One process (demo): it picks its own ports and prints "... visitors on 127.0.0.1:PORT".
    for _ in $(seq 1 100); do
        port=$(sed -n 's/.*visitors on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/edge.log" | head -1)
        [ -n "$port" ] && break
        sleep 0.1
    done
    VISITOR_PORT=${port:?the edge command printed no visitor port; see its output: $(tail -5 "$work/edge.log")}
    connector_kind="same process (tunnelctl demo)"
else
    eval "exec $(fill "$CONNECTOR_CMD")" >"$work/connector.log" 2>&1 & connector_pid=$!; pids+=($connector_pid)
    connector_kind=$(fill "$CONNECTOR_CMD" | awk '{print $1, $2}')
fi
if ! wait_http "http://127.0.0.1:$VISITOR_PORT/1k.bin" "$HOST"; then
    echo "--- edge log"; tail -20 "$work/edge.log"; echo "--- connector log"; tail -20 "$work/connector.log"; exit 1
fi
# The edge command may be a wrapper (eval, swift run): measure the process that listens.
listener=$(ss -ltnpH "sport = :$VISITOR_PORT" 2>/dev/null | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1 || true)
edge_pid=${listener:-$edge_pid}
connector_pid=${connector_pid:-$edge_pid}
sleep 1
idle_rss=$(rss_kb "$edge_pid")
idle_connector_rss=$(rss_kb "$connector_pid")

run_wrk() { wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -H "Host: $HOST" "$1" | awk '/Requests\/sec/ {print $2}'; }

peak_file="$work/peak"
echo 0 > "$peak_file"
echo 0 > "$peak_file.connector"
( while sleep 0.2; do
    r=$(rss_kb "$edge_pid"); [ "$r" -gt "$(cat "$peak_file")" ] && echo "$r" > "$peak_file"
    r=$(rss_kb "$connector_pid"); [ "$r" -gt "$(cat "$peak_file.connector")" ] && echo "$r" > "$peak_file.connector"
  done ) & sampler=$!; pids+=($sampler)
through_edge=$(run_wrk "http://127.0.0.1:$VISITOR_PORT/1k.bin")
kill "$sampler" 2>/dev/null || true
peak_rss=$(cat "$peak_file")
peak_connector_rss=$(cat "$peak_file.connector")
direct=$(run_wrk "http://127.0.0.1:$ORIGIN_PORT/1k.bin")

# Single stream: one 1 GB download each way; curl reports bytes/s.
download() { curl -s -o /dev/null -w '%{speed_download} %{size_download}\n' -H "Host: $HOST" "$1"; }
if [ "$BIG" -gt 0 ]; then
    big_runs=()
    for _ in $(seq 1 "${DOWNLOADS:-5}"); do
        read -r speed big_edge_size < <(download "http://127.0.0.1:$VISITOR_PORT/big.bin")
        big_runs+=("$speed")
        [ "$big_edge_size" = "$BIG" ] || echo "edge-wrk: the download through the tunnel stopped at $big_edge_size of $BIG bytes" >&2
    done
    big_edge=${big_runs[0]}
    read -r big_direct big_direct_size < <(download "http://127.0.0.1:$ORIGIN_PORT/big.bin")
    after_big_rss=$(rss_kb "$edge_pid")
    after_big_connector_rss=$(rss_kb "$connector_pid")
fi

echo "origin:          $origin_kind"
echo "edge:            $(fill "$EDGE_CMD" | awk '{print $1, $2}')"
echo "connector:       $connector_kind"
echo "load:            wrk -t$THREADS -c$CONNECTIONS -d$DURATION, 1 KB responses, $(nproc) cores"
echo "direct:          $direct req/s"
echo "through edge:    $through_edge req/s"
echo "ratio:           $(python3 -c "print(f'{$through_edge / $direct:.3f}')")"
echo "edge RSS idle:   $((idle_rss / 1024)) MiB"
echo "edge RSS load:   $((peak_rss / 1024)) MiB (peak)"
echo "connector RSS:   idle $((idle_connector_rss / 1024)) MiB, wrk peak $((peak_connector_rss / 1024)) MiB"
if [ "$BIG" -gt 0 ]; then
    mb() { python3 -c "print(f'{$1 / 1e6:.1f}')"; }
    echo "single stream:   $((BIG / 1048576)) MiB download, direct $(mb "$big_direct") MB/s, through edge $(mb "$big_edge") MB/s, ratio $(python3 -c "print(f'{$big_edge / $big_direct:.3f}')")"
    echo "downloads:       $(for r in "${big_runs[@]}"; do mb "$r"; done | paste -sd' ') MB/s (one after another over the same connector)"
    echo "RSS after it:    edge $((after_big_rss / 1024)) MiB, connector $((after_big_connector_rss / 1024)) MiB"
fi

# The same as a Markdown table, and a chart (Docs/bench/edge-wrk.png; CHART=0 skips it).
echo
echo "| what | direct to the origin | through edge + connector | ratio |"
echo "|---|---|---|---|"
echo "| 1 KB responses, wrk -c$CONNECTIONS | $direct req/s | $through_edge req/s | $(python3 -c "print(f'{$through_edge / $direct:.3f}')") |"
if [ "$BIG" -gt 0 ]; then
    echo "| $((BIG / 1048576)) MiB download, ${#big_runs[@]} in a row | $(mb "$big_direct") MB/s | $(for r in "${big_runs[@]}"; do mb "$r"; done | paste -sd' ') MB/s | $(python3 -c "print(f'{$big_edge / $big_direct:.3f}')") (first) |"
    echo "| RSS idle / after | – | edge $((idle_rss / 1024)) / $((after_big_rss / 1024)) MiB, connector $((idle_connector_rss / 1024)) / $((after_big_connector_rss / 1024)) MiB | |"
fi
if [ "${CHART:-1}" != 0 ] && [ "$BIG" -gt 0 ]; then
    # matplotlib in a venv of its own, so the test venv stays as CI builds it.
    if [ ! -x .venv-bench/bin/python3 ]; then
        python3 -m venv .venv-bench && .venv-bench/bin/pip install -q --disable-pip-version-check matplotlib==3.11.2
    fi
    mkdir -p Docs/bench
    .venv-bench/bin/python3 - "$direct" "$through_edge" "$big_direct" "${big_runs[@]}" <<'PY'
import sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
direct, tunnel, big_direct = (float(v) for v in sys.argv[1:4])
runs = [float(v) / 1e6 for v in sys.argv[4:]]
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
left.bar(["direct", "edge + connector"], [direct, tunnel], color=["#999", "#f38020"])
left.set_title("1 KB responses (req/s)")
right.plot(range(1, len(runs) + 1), runs, marker="o", color="#f38020", label="through the tunnel")
right.axhline(big_direct / 1e6, color="#999", linestyle="--", label="direct")
right.set_ylim(bottom=0)
right.set_xticks(range(1, len(runs) + 1))
right.set_title("1 GiB downloads in a row (MB/s)")
right.legend()
fig.tight_layout()
fig.savefig("Docs/bench/edge-wrk.png", dpi=100)
PY
    echo "chart: Docs/bench/edge-wrk.png"
fi

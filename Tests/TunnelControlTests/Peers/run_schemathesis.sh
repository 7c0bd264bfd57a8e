#!/usr/bin/env bash
# Property-based run of schemathesis (written for 4.32.5, see Tests/requirements.txt) against a live control
# plane: every response must be documented in the OpenAPI spec (status, Content-Type, schema) and
# no request may yield a 5xx. Small budget (50 examples per operation). Exits non-zero on failure.
#
#   run_schemathesis.sh SPEC_PATH BASE_URL TOKEN ACCOUNT_ID [extra schemathesis run options]
#   e.g. run_schemathesis.sh Docs/openapi.yaml http://127.0.0.1:8787/client/v4 TOKEN ACCOUNT
#
# The path parameter account_id is pinned to ACCOUNT_ID and the token is sent as a Bearer header,
# both through a throwaway schemathesis.toml (so the token is not on the command line).
# Uses $SCHEMATHESIS, else the repository's .venv, else schemathesis from PATH.
set -euo pipefail
if [ $# -lt 4 ]; then
    sed -n '2,11p' "$0" >&2
    exit 2
fi
spec=$1 base_url=$2
export ST_TOKEN=$3 ST_ACCOUNT_ID=$4
shift 4

repo=$(cd "$(dirname "$0")/../../.." && pwd)
st=${SCHEMATHESIS:-}
if [ -z "$st" ]; then
    if [ -x "$repo/.venv/bin/schemathesis" ]; then st=$repo/.venv/bin/schemathesis; else st=schemathesis; fi
fi

# 401/403 are documented responses, so a wrong token or account would pass every check: fail early.
python3 - "$base_url" <<'PY'
import os, sys, urllib.request
url = f"{sys.argv[1].rstrip('/')}/accounts/{os.environ['ST_ACCOUNT_ID']}/cfd_tunnel?page=1"
req = urllib.request.Request(url, headers={'Authorization': f"Bearer {os.environ['ST_TOKEN']}"})
try:
    urllib.request.urlopen(req, timeout=15).read()
except Exception as e:
    sys.exit(f'pre-flight GET {url} failed: {e}')
PY

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/schemathesis.toml" <<'EOF'
headers = { Authorization = "Bearer ${ST_TOKEN}" }

[parameters]
"path.account_id" = "${ST_ACCOUNT_ID}"

[generation]
database = "none"
EOF
# Pin the zone too when given, so route operations are exercised past the 403.
if [ -n "${ST_ZONE_ID:-}" ]; then
    sed -i 's/^\[parameters\]$/[parameters]\n"path.zone_id" = "${ST_ZONE_ID}"/' "$work/schemathesis.toml"
fi

# cd into the scratch directory so nothing (reports, caches) lands in the caller's tree.
spec=$(cd "$(dirname "$spec")" && pwd)/$(basename "$spec")
cd "$work"
limit=(); command -v timeout >/dev/null && limit=(timeout 300)
"${limit[@]}" "$st" --config-file "$work/schemathesis.toml" run "$spec" \
    --url "$base_url" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --max-examples 50 \
    --workers 1 \
    --request-timeout 15 \
    --no-color \
    "$@"

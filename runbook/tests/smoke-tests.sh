#!/bin/sh
# The runbook's ./tests/smoke-tests.sh: the API end to end, as a user reaches
# it ($API_URL, else the gaudi3-scale-api Service's external address):
# health, readiness, a job written and read back, the listing, the metrics.
# One line per check; exit 0 only when every check passed.
set -u
here=$(dirname "$0")
. "$here/../scripts/lib.sh"
api=${API_URL:-}
if [ -z "$api" ]; then
    api=$(service_url gaudi3-scale-api gaudi3-scale) || {
        echo "smoke-tests: error: cannot find the API: set API_URL or check the gaudi3-scale-api Service" >&2
        exit 2
    }
fi
failed=0
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

check() {  # check NAME EXPECTED_STATUS METHOD PATH [BODY] ; sets $body
    what=$1 want=$2 method=$3 path=$4 data=${5:-}
    if [ -n "$data" ]; then
        got=$(curl -sS --max-time 10 -o "$tmp" -w '%{http_code}' -X "$method" -H 'Content-Type: application/json' \
              --data "$data" "$api$path" 2>&1)
    else
        got=$(curl -sS --max-time 10 -o "$tmp" -w '%{http_code}' -X "$method" "$api$path" 2>&1)
    fi
    body=$(cat "$tmp")
    if [ "$got" = "$want" ]; then
        echo "ok    $what ($method $path -> $got)"
        return 0
    fi
    echo "FAIL  $what ($method $path -> $got, want $want): $(printf '%s' "$body" | head -c 200)"
    failed=$((failed + 1))
    return 1
}

check "health" 200 GET /health
check "ready (database reachable)" 200 GET /health/ready
job_name="smoke-$(date +%s)-$$"
if check "submit a job" 201 POST /jobs "{\"name\": \"$job_name\", \"steps\": 5}"; then
    id=$(printf '%s' "$body" | sed -n 's/.*"id": *\([0-9][0-9]*\).*/\1/p')
    if [ -n "$id" ] && check "read the job back" 200 GET "/jobs/$id"; then
        case $body in
            *"\"$job_name\""*) echo "ok    the job read back is the one written (id $id)" ;;
            *) echo "FAIL  job $id read back without its name $job_name"; failed=$((failed + 1)) ;;
        esac
    fi
fi
check "list jobs" 200 GET "/jobs?limit=5"
if check "metrics" 200 GET /metrics; then
    case $body in
        *http_requests_total*) ;;
        *) echo "FAIL  /metrics has no http_requests_total"; failed=$((failed + 1)) ;;
    esac
fi
if [ "$failed" -gt 0 ]; then
    echo "smoke tests: $failed check(s) failed against $api"
    exit 1
fi
echo "smoke tests: all passed against $api"

#!/bin/sh
# notify.sh KIND SEVERITY MESSAGE: post one notification to the platform's
# receiver ($NOTIFY_URL, else the `notifications` Service in `monitoring`).
set -eu
here=$(dirname "$0")
. "$here/lib.sh"
kind=$1 severity=$2 message=$3
url=${NOTIFY_URL:-}
if [ -z "$url" ]; then
    url=$(service_url notifications monitoring) || {
        echo "notify: error: no notification receiver: set NOTIFY_URL or deploy deploy/monitoring/notifications.yaml" >&2
        exit 1
    }
fi
curl -fsS --max-time 10 -o /dev/null -X POST "$url/notify" \
    --data-urlencode "kind=$kind" --data-urlencode "severity=$severity" --data-urlencode "message=$message"
echo "notified ($kind${severity:+, $severity}): $message"

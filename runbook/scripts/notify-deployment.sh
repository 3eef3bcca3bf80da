#!/bin/sh
# The runbook's ./scripts/notify-deployment.sh MESSAGE
set -eu
if [ $# -ne 1 ] || [ -z "$1" ]; then
    echo "usage: notify-deployment.sh MESSAGE" >&2
    exit 2
fi
exec "$(dirname "$0")/notify.sh" deployment "" "$1"

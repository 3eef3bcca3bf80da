#!/bin/sh
# The runbook's ./scripts/notify-incident.sh SEVERITY MESSAGE
# e.g. ./scripts/notify-incident.sh "P0" "System outage detected"
set -eu
if [ $# -ne 2 ] || [ -z "$1" ] || [ -z "$2" ]; then
    echo "usage: notify-incident.sh SEVERITY MESSAGE (e.g. P0 \"System outage detected\")" >&2
    exit 2
fi
exec "$(dirname "$0")/notify.sh" incident "$1" "$2"

#!/bin/sh
# The runbook's ./backup-recovery/scripts/backup-automation.sh: runs the
# platform's backup tool (console script `backup-automation`, or the module).
set -eu
if command -v backup-automation >/dev/null 2>&1; then
    exec backup-automation "$@"
fi
exec "${PYTHON:-python3}" -m gaudi3_scale.backup "$@"

#!/bin/sh
# The runbook's ./backup-recovery/scripts/backup-automation.sh backup|restore-db FILE|health-check|list,
# run from the operator's workspace: runs the platform's backup tool inside the
# database pod (`kubectl exec deployment/postgres -n database -- backup-automation ...`),
# where pg_dump reaches the database and the dumps land on the backup claim
# mounted at /backup (/backup/database/postgres-YYYYmmdd-HHMMSS.sql.gz, the layout the runbook restores from).
set -eu
if [ $# -lt 1 ]; then
    echo "usage: backup-automation.sh backup | health-check | list | restore-db FILE|latest" >&2
    exit 2
fi
exec kubectl exec deployment/postgres -n "${DATABASE_NAMESPACE:-database}" -c postgres -- backup-automation "$@"

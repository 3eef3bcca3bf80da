#!/usr/bin/env bash
# Runs the whole suite; fails loudly when pytest collects or runs no test
# (pytest exits 5 then, and a run that skipped everything is no pass either).
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p reports
# The slowest tests, printed with the result: where the suite's time goes.
python -m pytest --junitxml=reports/test-results.xml --durations=25 "$@"
rc=$?
if [ $rc -eq 5 ]; then
  echo "make test: error: pytest collected no test" >&2
  exit 1
fi
if [ $rc -eq 0 ]; then
  ran=$(python - <<'PY'
import xml.etree.ElementTree as ET
root = ET.parse("reports/test-results.xml").getroot()
suites = [root] if root.tag == "testsuite" else list(root)
total = sum(int(s.get("tests", 0)) - int(s.get("skipped", 0)) for s in suites)
print(total)
PY
)
  if [ "${ran:-0}" -le 0 ]; then
    echo "make test: error: every test was skipped; nothing was checked" >&2
    exit 1
  fi
fi
exit $rc

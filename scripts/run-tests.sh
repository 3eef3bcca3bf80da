#!/usr/bin/env bash
# Runs the whole suite; fails loudly when pytest collects or runs no test
# (pytest exits 5 then, and a run that skipped everything is no pass either).
#
# With no arguments the suite runs in two parts at once: the tests that need
# no sandbox (unit tests, the platform's processes on a local PostgreSQL)
# beside those that do, which still run one sandbox at a time and spend most
# of their time waiting on it. With arguments (a file, -k, ...): one pytest
# run of what they select, in the suite's order.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p reports
rm -f reports/test-results*.xml

no_test() {
  echo "make test: error: pytest collected no test${1:+ ($1)}" >&2
  exit 1
}

if [ $# -gt 0 ]; then
  # The slowest tests, printed with the result: where the suite's time goes.
  python -m pytest --junitxml=reports/test-results.xml --durations=25 "$@"
  rc=$?
  [ $rc -eq 5 ] && no_test
else
  GAMEDAY_TEST_PART=unit python -m pytest --junitxml=reports/test-results-unit.xml --durations=10 \
    > reports/unit-tests.log 2>&1 &
  unit_pid=$!
  # Ctrl-C or a stop of this script stops the unit part too.
  trap 'kill $unit_pid 2>/dev/null' EXIT
  GAMEDAY_TEST_PART=sandbox python -m pytest --junitxml=reports/test-results.xml --durations=25
  rc_sandbox=$?
  wait $unit_pid
  rc_unit=$?
  trap - EXIT
  echo
  echo "=================== the tests without a sandbox (run alongside) ==================="
  cat reports/unit-tests.log
  [ $rc_unit -eq 5 ] && no_test "the tests without a sandbox"
  [ $rc_sandbox -eq 5 ] && no_test "the tests with a sandbox"
  rc=$(( rc_sandbox != 0 ? rc_sandbox : rc_unit ))
fi
if [ $rc -eq 0 ]; then
  ran=$(python - <<'PY'
import glob
import xml.etree.ElementTree as ET
total = 0
for path in glob.glob("reports/test-results*.xml"):
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root)
    total += sum(int(s.get("tests", 0)) - int(s.get("skipped", 0)) for s in suites)
print(total)
PY
)
  if [ "${ran:-0}" -le 0 ]; then
    echo "make test: error: every test was skipped; nothing was checked" >&2
    exit 1
  fi
  echo "make test: $ran tests ran and passed"
fi
exit $rc

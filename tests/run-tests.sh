#!/usr/bin/env bash
# Runs every test (unit and integration against real peers) in Release, after setting up what
# they need: Debian packages and hugepages. Usage: tests/run-tests.sh [dotnet test --filter expression]
# Ends with one line "tests: N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
tests/setup-deps.sh || exit 1
hugepages/setup-hugepages.sh || exit 1
results=artifacts/test-results
rm -rf "$results"
filter=()
[ $# -gt 0 ] && filter=(--filter "$1")
dotnet test tests/Datapath.Tests.csproj -c Release -nologo "${filter[@]}" \
  --logger "trx;LogFileName=tests.trx" --logger "console;verbosity=normal" --results-directory "$results"
rc=$?
trx=$(ls "$results"/*.trx 2>/dev/null | head -1)
if [ -n "$trx" ]; then
  counters=$(grep -o '<Counters [^>]*>' "$trx")
  get() { echo "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
  total=$(get total); passed=$(get passed); failed=$(get failed)
  skipped=$(( ${total:-0} - ${passed:-0} - ${failed:-0} ))
  echo "tests: ${passed:-0} passed, ${failed:-0} failed, ${skipped} skipped"
  [ "${total:-0}" -gt 0 ] || { echo "no test ran" >&2; exit 1; }
else
  echo "tests: 0 passed, 1 failed (no results: the build or the test host failed)"
  [ $rc -ne 0 ] || rc=1
fi
exit $rc

#!/usr/bin/env bash
# Runs the test suite N times on one build and reports every test that failed at least once, with its count.
# Usage: build/flaky.sh N [dotnet test arguments, e.g. --filter Category=Integration]
# Builds once (as build/test.sh does: Release, warnings as errors), then `dotnet test --no-build` N times, each run's
# TRX in TestResults/flaky/run-<i>. Exits 1 when any test failed in any run (or a run produced no TRX), else 0.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-}
if ! [[ "$runs" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: build/flaky.sh N [dotnet test arguments]   (N >= 1 runs of the suite)" >&2
  exit 2
fi
shift

results=TestResults/flaky
rm -rf "$results"
dotnet restore Monolith.sln --nologo -v quiet
dotnet build Monolith.sln -c Release --no-restore --nologo -v quiet -warnaserror

for i in $(seq 1 "$runs"); do
  echo "flaky: run $i of $runs" >&2
  dotnet test tests/Monolith.Tests/Monolith.Tests.csproj -c Release --no-build --nologo \
    --logger "trx;LogFileName=tests.trx" --logger "console;verbosity=minimal" \
    --results-directory "$results/run-$i" "$@" || true
done

python3 - "$results" "$runs" <<'PY'
import glob, os, sys
import xml.etree.ElementTree as ET

results, runs = sys.argv[1], int(sys.argv[2])
NS = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
failures, missing, executed = {}, [], 0
for i in range(1, runs + 1):
    trx = sorted(glob.glob(os.path.join(results, f"run-{i}", "**", "*.trx"), recursive=True))
    if not trx:
        missing.append(i)
        continue
    executed += 1
    root = ET.parse(trx[0]).getroot()
    for result in root.iterfind(".//t:UnitTestResult", NS):
        if result.get("outcome") == "Failed":
            name = result.get("testName", "?")
            failures[name] = failures.get(name, 0) + 1

print(f"flaky: {executed} of {runs} runs produced results")
for i in missing:
    print(f"flaky: run {i} produced no TRX (the test host did not start or crashed)")
if failures:
    print(f"flaky: {len(failures)} test(s) failed at least once:")
    for name, count in sorted(failures.items(), key=lambda p: (-p[1], p[0])):
        print(f"  {count}/{executed}  {name}")
else:
    print("flaky: no test failed")
sys.exit(1 if failures or missing else 0)
PY

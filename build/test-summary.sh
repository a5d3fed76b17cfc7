#!/usr/bin/env bash
# Prints the count of tests per category (from the TRX) and the line coverage (from coverlet's Cobertura file).
set -uo pipefail
results=${1:-TestResults}
trx=$(find "$results" -name '*.trx' | head -n 1)
if [ -n "$trx" ]; then
  echo "Tests per category:"
  python3 - "$trx" <<'PY'
import sys, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
root = ET.parse(sys.argv[1]).getroot()
outcome = {r.get("testId"): r.get("outcome") for r in root.iterfind(".//t:UnitTestResult", ns)}
counts = {}
for test in root.iterfind(".//t:UnitTest", ns):
    cats = [c.get("TestCategory") for c in test.iterfind(".//t:TestCategoryItem", ns)] or ["(none)"]
    for c in cats:
        total, passed = counts.get(c, (0, 0))
        counts[c] = (total + 1, passed + (outcome.get(test.get("id")) == "Passed"))
for c, (total, passed) in sorted(counts.items()):
    print(f"  {c:<12} {total:>5} tests, {passed} passed")
summary = root.find(".//t:ResultSummary/t:Counters", ns)
if summary is not None:
    print(f"{summary.get('passed')} passed, {summary.get('failed')} failed")
PY
fi
cov=$(find "$results" -name 'coverage.cobertura.xml' | head -n 1)
if [ -n "$cov" ]; then
  rate=$(grep -o 'line-rate="[0-9.]*"' "$cov" | head -n 1 | grep -o '[0-9.]*')
  branch=$(grep -o 'branch-rate="[0-9.]*"' "$cov" | head -n 1 | grep -o '[0-9.]*')
  python3 -c "print(f'Coverage: {float(\"$rate\")*100:.1f}% of lines, {float(\"$branch\")*100:.1f}% of branches')"
fi

#!/usr/bin/env bash
# Prints, after a test run:
#   - the count of tests per category (Unit, Integration, Security). The TRX does not carry xunit traits, so
#     each test's class is mapped to the [Trait("Category", Categories.X)] on that class (or on a base class)
#     in tests/**/*.cs;
#   - the totals line "N passed, N failed" alone on a line (CI reads it);
#   - the line coverage from coverlet's Cobertura file.
# Usage: build/test-summary.sh [RESULTS_DIR] [TESTS_DIR]. Never fails the build: a parse error is reported
# on stderr and the script still exits 0.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
results=${1:-$root/TestResults}
sources=${2:-$root/tests}

trx=$(find "$results" -name '*.trx' 2>/dev/null | sort | head -n 1)
if [ -z "$trx" ]; then
  echo "test-summary: no TRX file under $results" >&2
else
  python3 - "$trx" "$sources" <<'PY' || echo "test-summary: could not summarise $trx" >&2
import os, re, sys
import xml.etree.ElementTree as ET
sys.excepthook = lambda kind, error, tb: print(f"test-summary: {kind.__name__}: {error}", file=sys.stderr)

trx_path, sources = sys.argv[1], sys.argv[2]
NS = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
KNOWN = ["Unit", "Integration", "Security"]

# --- class -> category, from the test sources -------------------------------------------------------
trait_re = re.compile(r'Trait\s*\(\s*"Category"\s*,\s*(?:Categories\s*\.\s*(\w+)|"([^"]+)")\s*\)')
class_re = re.compile(r'\b(?:class|record)\s+(\w+)(?:\s*<[^>]*>)?(?:\s*\([^)]*\))?\s*(?::\s*([\w.]+))?')
namespace_re = re.compile(r'^\s*namespace\s+([\w.]+)')

categories = {}  # full class name -> category
by_simple = {}   # simple class name -> set of categories
bases = {}       # full class name -> base class (simple name as written)

def strip_comments(line):
    return line.split("//", 1)[0]

for root, dirs, files in os.walk(sources):
    dirs[:] = [d for d in dirs if d not in ("bin", "obj")]
    for name in files:
        if not name.endswith(".cs"):
            continue
        try:
            with open(os.path.join(root, name), encoding="utf-8-sig", errors="replace") as f:
                lines = f.readlines()
        except OSError:
            continue
        namespace, pending = "", ""
        for raw in lines:
            line = strip_comments(raw).strip()
            if not line:
                continue
            m = namespace_re.match(line)
            if m:
                namespace = m.group(1)
                pending = ""
                continue
            if line.startswith("["):
                pending += line
                continue
            m = class_re.search(line)
            if m:
                full = f"{namespace}.{m.group(1)}" if namespace else m.group(1)
                t = trait_re.search(pending)
                if t:
                    category = t.group(1) or t.group(2)
                    categories[full] = category
                    by_simple.setdefault(m.group(1), set()).add(category)
                if m.group(2):
                    bases[full] = m.group(2).split(".")[-1]
            pending = ""

def category_of(class_name):
    full = class_name.replace("+", ".")
    seen = set()
    while full and full not in seen:
        seen.add(full)
        if full in categories:
            return categories[full]
        simple = full.split(".")[-1].split("`")[0]
        found = by_simple.get(simple)
        if found and len(found) == 1:
            return next(iter(found))
        base = bases.get(full)
        if base is None:
            return None
        # the base class, looked up by its simple name
        full = next((c for c in list(categories) + list(bases) if c.split(".")[-1] == base), base)
    return None

# --- the TRX ------------------------------------------------------------------------------------------
root = ET.parse(trx_path).getroot()
outcome = {r.get("testId"): r.get("outcome") for r in root.iterfind(".//t:UnitTestResult", NS)}
counts, unmapped = {}, set()
for test in root.iterfind(".//t:UnitTest", NS):
    method = test.find("t:TestMethod", NS)
    class_name = method.get("className", "") if method is not None else ""
    category = category_of(class_name)
    if category is None:
        category = "(none)"
        unmapped.add(class_name or "?")
    total, passed, failed = counts.get(category, (0, 0, 0))
    result = outcome.get(test.get("id"))
    counts[category] = (total + 1, passed + (result == "Passed"), failed + (result == "Failed"))

print("Tests per category:")
for category in KNOWN + sorted(c for c in counts if c not in KNOWN):
    total, passed, failed = counts.get(category, (0, 0, 0))
    if total == 0 and category not in KNOWN:
        continue
    print(f"  {category:<12} {total:>5} tests, {passed} passed, {failed} failed")
if unmapped:
    shown = ", ".join(sorted(unmapped)[:5]) + (", ..." if len(unmapped) > 5 else "")
    print(f"  (classes without a Category trait: {shown})")

counters = root.find(".//t:ResultSummary/t:Counters", NS)
if counters is not None:
    print(f"{counters.get('passed', '0')} passed, {counters.get('failed', '0')} failed")
else:
    print(f"{sum(1 for o in outcome.values() if o == 'Passed')} passed, {sum(1 for o in outcome.values() if o == 'Failed')} failed")
PY
fi

cov=$(find "$results" -name 'coverage.cobertura.xml' 2>/dev/null | sort | head -n 1)
if [ -n "$cov" ]; then
  python3 - "$cov" <<'PY' || echo "test-summary: could not read coverage from $cov" >&2
import sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
line = float(root.get("line-rate", "0")) * 100
branch = float(root.get("branch-rate", "0")) * 100
covered, valid = root.get("lines-covered"), root.get("lines-valid")
extra = f" ({covered}/{valid})" if covered and valid else ""
print(f"Coverage: {line:.1f}% of lines{extra}, {branch:.1f}% of branches")
PY
fi
exit 0

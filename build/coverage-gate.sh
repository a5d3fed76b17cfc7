#!/usr/bin/env bash
# Line and branch coverage of modules/, per module and overall, from coverlet's Cobertura file(s); with --enforce,
# exits 1 when modules/ overall is under COVERAGE_MIN_LINES (85) % of lines or COVERAGE_MIN_BRANCHES (75) % of branches.
# Usage: build/coverage-gate.sh [RESULTS_DIR] [--enforce]. A line is counted once even when several Cobertura classes
# (lambdas, async state machines) or several files list it; it is covered when any of them hit it.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
results=$root/TestResults
enforce=0
for arg in "$@"; do
  case "$arg" in
    --enforce) enforce=1 ;;
    *) results=$arg ;;
  esac
done

mapfile -t files < <(find "$results" -name 'coverage.cobertura.xml' 2>/dev/null | sort)
if [ ${#files[@]} -eq 0 ]; then
  echo "coverage: no coverage.cobertura.xml under $results" >&2
  [ "$enforce" = 1 ] && exit 1
  exit 0
fi

python3 - "$enforce" "${COVERAGE_MIN_LINES:-85}" "${COVERAGE_MIN_BRANCHES:-75}" "${files[@]}" <<'PY'
import os, re, sys
import xml.etree.ElementTree as ET

enforce, min_lines, min_branches = sys.argv[1] == "1", float(sys.argv[2]), float(sys.argv[3])
module_re = re.compile(r"(?:^|/)modules/([^/]+)/")
condition_re = re.compile(r"\((\d+)/(\d+)\)")

lines = {}     # (file, line) -> covered?
branches = {}  # (file, line) -> (covered, total)
for path in sys.argv[4:]:
    root = ET.parse(path).getroot()
    sources = [s.text or "" for s in root.iterfind("./sources/source")] or [""]
    for cls in root.iterfind(".//class"):
        name = (cls.get("filename") or "").replace("\\", "/")
        full = name if name.startswith("/") or len(sources) != 1 else os.path.join(sources[0].replace("\\", "/"), name)
        module = module_re.search(full)
        if module is None:
            continue
        key_file = full[module.start():].lstrip("/")
        for line in cls.iterfind("./lines/line"):
            key = (key_file, int(line.get("number", "0")))
            lines[key] = lines.get(key, False) or int(line.get("hits", "0")) > 0
            if line.get("branch", "False").lower() == "true":
                m = condition_re.search(line.get("condition-coverage", ""))
                if m:
                    covered, total = int(m.group(1)), int(m.group(2))
                    old = branches.get(key, (0, 0))
                    branches[key] = (max(old[0], covered), max(old[1], total))

def module_of(file):
    return module_re.search(file).group(1)

modules = sorted({module_of(f) for f, _ in lines})
def rate(covered, total):
    return 100.0 * covered / total if total else 100.0

print("Coverage of modules/ (lines, branches):")
rows = []
for module in modules + [None]:
    ls = [v for (f, _), v in lines.items() if module is None or module_of(f) == module]
    bs = [v for (f, _), v in branches.items() if module is None or module_of(f) == module]
    lc, lt = sum(ls), len(ls)
    bc, bt = sum(c for c, _ in bs), sum(t for _, t in bs)
    label = "modules/ overall" if module is None else module
    print(f"  {label:<17} {rate(lc, lt):5.1f}% of lines ({lc}/{lt}), {rate(bc, bt):5.1f}% of branches ({bc}/{bt})")
    if module is None:
        overall = (rate(lc, lt), rate(bc, bt))

failed = overall[0] < min_lines or overall[1] < min_branches
if failed:
    print(f"coverage: modules/ overall is under the minimum ({min_lines:g}% of lines, {min_branches:g}% of branches)"
          + ("" if enforce else "; not enforced for a filtered run"), file=sys.stderr)
sys.exit(1 if failed and enforce else 0)
PY

#!/usr/bin/env python3
"""Reads the TRX files under a folder. Prints every failed test with its message and stack (a CI log whose middle
is cut still shows what failed), then one closing line, 'tests: N passed, N failed, N skipped': vstest's own
summary is not a line the CI reads, and a run without that line is reported as having run no test."""
import glob
import sys
import xml.etree.ElementTree as ET

counts = {"passed": 0, "failed": 0, "skipped": 0}
paths = glob.glob(sys.argv[1] + "/**/*.trx", recursive=True)
for path in paths:
    for result in ET.parse(path).getroot().iterfind(".//{*}UnitTestResult"):
        outcome = result.get("outcome")
        if outcome == "Passed":
            counts["passed"] += 1
        elif outcome in ("Failed", "Error", "Timeout", "Aborted"):
            counts["failed"] += 1
            print(f"FAILED: {result.get('testName')} ({result.get('duration')})")
            for tag in ("Message", "StackTrace", "StdOut"):
                node = result.find(f".//{{*}}{tag}")
                if node is not None and node.text:
                    print(f"  {tag}:")
                    print("\n".join("    " + line for line in node.text[:4000].splitlines()))
        else:
            counts["skipped"] += 1
if not paths:
    print(f"no TRX file under {sys.argv[1]}", file=sys.stderr)
    sys.exit(1)
print(f"tests: {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")

#!/usr/bin/env python3
"""Prints every failed test of the TRX files under a folder, with its message and stack, so a CI log whose
middle is cut still ends with what failed."""
import glob
import sys
import xml.etree.ElementTree as ET

failed = 0
for path in glob.glob(sys.argv[1] + "/**/*.trx", recursive=True):
    for result in ET.parse(path).getroot().iterfind(".//{*}UnitTestResult"):
        if result.get("outcome") != "Failed":
            continue
        failed += 1
        print(f"FAILED: {result.get('testName')} ({result.get('duration')})")
        for tag in ("Message", "StackTrace", "StdOut"):
            node = result.find(f".//{{*}}{tag}")
            if node is not None and node.text:
                print(f"  {tag}:")
                print("\n".join("    " + line for line in node.text[:4000].splitlines()))
print(f"{failed} failed test(s) in the TRX files under {sys.argv[1]}")

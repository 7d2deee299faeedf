#!/usr/bin/env python3
"""Reads the console log of `dotnet test` (normal verbosity) and prints every failed test with what vstest printed
under it (message, stack, output), so a CI log whose middle is cut still ends with what failed."""
import re
import sys

result_line = re.compile(r"^\s+(Passed|Failed|Skipped) \S")
failed, block = [], None
with open(sys.argv[1], encoding="utf-8", errors="replace") as log:
    for line in log:
        match = result_line.match(line)
        if match:
            block = [line.rstrip("\n")] if match.group(1) == "Failed" else None
            if block is not None:
                failed.append(block)
        elif block is not None and len(block) < 80:
            block.append(line.rstrip("\n"))
for block in failed:
    print("\n".join(block))
print(f"{len(failed)} failed test(s) listed above")

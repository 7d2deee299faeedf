#!/usr/bin/env bash
# Records new public API of src/RxStreams in PublicAPI.Unshipped.txt: the build fails on undeclared API (RS0016) with
# the symbol's API line in the message, which this script appends. Review the diff before committing: a line that
# must be removed from PublicAPI.Shipped.txt (RS0017) is a breaking change and is left to a human.
set -euo pipefail
cd "$(dirname "$0")/../src/RxStreams"
unshipped=PublicAPI.Unshipped.txt
new_api=$(mktemp)
trap 'rm -f "$new_api"' EXIT
dotnet build RxStreams.csproj -c Release -p:TreatWarningsAsErrors=false 2>&1 \
  | sed -n "s/.*warning RS0016: Symbol '\(.*\)' is not part of the declared public API.*/\1/p" \
  | sort -u > "$new_api" || true
{ cat "$unshipped"; cat "$new_api"; } | grep -v '^#nullable enable$' | sort -u | { echo '#nullable enable'; cat; } > "$unshipped.tmp"
mv "$unshipped.tmp" "$unshipped"
echo "$(wc -l < "$new_api") new API lines recorded in src/RxStreams/$unshipped"

#!/usr/bin/env bash
# Issue 15 "typed boundaries": how untyped the package still is. Rerun to compare with the note:
#   lines naming the word Any, lines with dict[str, Any], and .hex().upper() EUI round trips.
set -euo pipefail
cd "$(dirname "$0")/.."
printf 'Any lines:            %s\n' "$(grep -rw --include='*.py' 'Any' emulator | wc -l)"
printf 'dict[str, Any] lines: %s\n' "$(grep -r --include='*.py' 'dict\[str, Any\]' emulator | wc -l)"
printf '.hex().upper() calls: %s\n' "$(grep -ro --include='*.py' '\.hex()\.upper()' emulator | wc -l)"

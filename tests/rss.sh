#!/usr/bin/env bash
# Prints the resident memory of each running service of a stack, and their total.
# Usage: rss.sh <services.pids file>
set -euo pipefail
total=0
for pid in $(cat "${1:?pid file}"); do
  [ -r "/proc/$pid/status" ] || continue
  name=$(tr '\0' ' ' <"/proc/$pid/cmdline" | awk '{print $1}' | xargs basename)
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
  total=$((total + rss))
  printf '  %-14s %7d KiB\n' "$name" "$rss"
done
printf '  %-14s %7d KiB (%d MiB)\n' "total" "$total" $((total / 1024))

#!/usr/bin/env bash
# Runs the compatibility suite with the pinned official client in a virtualenv
# (created once per checkout and reused).
set -euo pipefail
cd "$(dirname "$0")"
VENV=${CVAT_COMPAT_VENV:-$PWD/.venv}
if [ ! -x "$VENV/bin/pytest" ]; then
  python3 -m venv "$VENV" || { apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null && python3 -m venv "$VENV"; }
  "$VENV/bin/pip" install -q -r requirements.txt
fi
"$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@"

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
# datumaro (PyPI), to open our exports, in a virtualenv of its own: its numpy and
# OpenCV pins must not meet the client's.
DATUMARO_VENV=${CVAT_DATUMARO_VENV:-$PWD/.venv-datumaro}
if [ ! -x "$DATUMARO_VENV/bin/python" ] || ! "$DATUMARO_VENV/bin/python" -c 'import datumaro' 2>/dev/null; then
  python3 -m venv "$DATUMARO_VENV"
  "$DATUMARO_VENV/bin/pip" install -q -r requirements-datumaro.txt
fi
export CVAT_DATUMARO_PYTHON="$DATUMARO_VENV/bin/python"
"$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@"

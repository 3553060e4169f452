#!/usr/bin/env bash
# Stops services started by services.sh without --foreground.
DATA=${CVAT_DATA_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/.data}
[ -f "$DATA/services.pids" ] && kill $(cat "$DATA/services.pids") 2>/dev/null
rm -f "$DATA/services.pids"
exit 0

#!/bin/sh
# All health checks, one line each, for branch-checkin-health.service.
# Exit 0 when every check passed, 1 otherwise. Each check's defaults can be
# overridden from the environment (see the scripts themselves).
set -u

here=$(cd "$(dirname "$0")" && pwd)
status=0
for check in check-kiosk.sh check-bridge.sh check-door.sh; do
    if ! "$here/$check"; then
        status=1
    fi
done
exit "$status"

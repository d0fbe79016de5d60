#!/bin/sh
# Is the kiosk service running? After 10 failed starts in 10 minutes systemd
# gives up on it (StartLimitBurst= in the unit); this says so and where the
# reason is.
#
# Exit 0 running, 1 not. Defaults overridable from the environment:
#   KIOSK_UNIT (branch-checkin-kiosk.service)  SYSTEMCTL (systemctl)
set -u

KIOSK_UNIT=${KIOSK_UNIT:-branch-checkin-kiosk.service}
SYSTEMCTL=${SYSTEMCTL:-systemctl}

state=$("$SYSTEMCTL" is-active "$KIOSK_UNIT" 2>/dev/null)
case "$state" in
    active | reloading)
        echo "kiosk: ok: $KIOSK_UNIT is $state"
        exit 0 ;;
    activating)
        echo "kiosk: starting: $KIOSK_UNIT is starting or restarting; if this lasts, see journalctl -u $KIOSK_UNIT -b"
        exit 1 ;;
    *)
        echo "kiosk: down: $KIOSK_UNIT is ${state:-unknown}; see journalctl -u $KIOSK_UNIT -b, fix the cause, then: sudo systemctl reset-failed $KIOSK_UNIT && sudo systemctl start $KIOSK_UNIT"
        exit 1 ;;
esac

#!/bin/sh
# Is the door board plugged in, named by udev and usable by the kiosk user?
# (deploy/udev/60-branch-checkin-door.rules gives it /dev/door0.)
#
# Exit 0 present, 1 missing or unusable. Defaults overridable from the
# environment, so the tests run this very script against a pty:
#   DOOR_DEVICE (/dev/door0)
set -u

DOOR_DEVICE=${DOOR_DEVICE:-/dev/door0}

if [ ! -e "$DOOR_DEVICE" ]; then
    echo "door: missing: no $DOOR_DEVICE. Check the USB cable; if the board is plugged in, compare its serial number with the udev rule (docs/deployment.md, \"Door board\")"
    exit 1
fi
if [ ! -c "$DOOR_DEVICE" ]; then
    echo "door: unusable: $DOOR_DEVICE is not a character device; remove it and replug the board"
    exit 1
fi
if [ ! -r "$DOOR_DEVICE" ] || [ ! -w "$DOOR_DEVICE" ]; then
    echo "door: unusable: $(id -un) cannot read and write $DOOR_DEVICE; is the user in group dialout and the udev rule installed?"
    exit 1
fi
echo "door: ok: $DOOR_DEVICE"
exit 0

#!/bin/sh
# Optional: make the root filesystem read-only with Raspberry Pi OS's
# overlay (raspi-config), so power cuts cannot corrupt it and the card wears
# far less. Everything written to / then lives in RAM until the next boot.
#
# The kiosk's SQLite database (/var/lib/branch-checkin) and mosquitto's queue
# (/var/lib/mosquitto) must survive reboots, so they must sit on a separate,
# writable partition mounted there (see docs/deployment.md, "Read-only
# root"). This script refuses to go on until they do.
#
# Undo with: sudo raspi-config nonint do_overlayfs 1, then reboot.
set -eu

STATE_DIRS=${STATE_DIRS:-"/var/lib/branch-checkin /var/lib/mosquitto"}

if [ "$(id -u)" -ne 0 ]; then
    echo "enable-readonly-root.sh: run as root (sudo)" >&2
    exit 1
fi
if ! command -v raspi-config >/dev/null 2>&1; then
    echo "enable-readonly-root.sh: raspi-config not found: this works on Raspberry Pi OS only" >&2
    exit 1
fi
for dir in $STATE_DIRS; do
    if ! mountpoint -q "$dir"; then
        echo "enable-readonly-root.sh: $dir is not a separate mount; with a read-only root" >&2
        echo "  its data would be lost at every reboot. Put it on a data partition first" >&2
        echo "  (docs/deployment.md, \"Read-only root\")." >&2
        exit 1
    fi
done

raspi-config nonint do_overlayfs 0
echo "Read-only root enabled. Reboot, then check that the state directories are writable:"
echo "  findmnt -no OPTIONS /var/lib/branch-checkin    (must show rw)"

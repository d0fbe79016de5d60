#!/bin/sh
# Revoke one kiosk's access to the central broker (a stolen or retired Pi):
# its password and its ACL block go; other kiosks are untouched.
#
# Usage: remove-kiosk.sh BRANCH KIOSK     (CONF_DIR as in add-kiosk.sh)
# Then: systemctl reload mosquitto; the broker disconnects the user.
set -eu

CONF_DIR=${CONF_DIR:-/etc/mosquitto}
if [ "$#" -ne 2 ]; then
    echo "usage: remove-kiosk.sh BRANCH KIOSK" >&2
    exit 64
fi
KIOSK_USER="$1.$2"

if [ -f "$CONF_DIR/passwd" ] && grep -q "^$KIOSK_USER:" "$CONF_DIR/passwd"; then
    mosquitto_passwd -D "$CONF_DIR/passwd" "$KIOSK_USER"
fi
tmp="$CONF_DIR/acl.tmp.$$"
trap 'rm -f "$tmp"' EXIT
awk -v begin="# BEGIN kiosk $KIOSK_USER" -v end="# END kiosk $KIOSK_USER" '
    $0 == begin { skipping = 1; next }
    $0 == end   { skipping = 0; next }
    !skipping
' "$CONF_DIR/acl" > "$tmp"
chmod --reference="$CONF_DIR/acl" "$tmp"
chown --reference="$CONF_DIR/acl" "$tmp"
mv "$tmp" "$CONF_DIR/acl"
trap - EXIT
echo "kiosk user $KIOSK_USER removed from $CONF_DIR/passwd and $CONF_DIR/acl"

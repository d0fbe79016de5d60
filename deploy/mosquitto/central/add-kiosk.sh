#!/bin/sh
# Give one kiosk (one branch Pi and its bridge) its own user on the central
# broker: a password in passwd and its own block in the ACL. Running it again
# for the same kiosk replaces its block and password; other kiosks stay as
# they are.
#
# Usage: add-kiosk.sh BRANCH KIOSK
#   The password is read from the environment variable KIOSK_PASSWORD, or
#   generated and printed once when it is not set (argv would show it in ps).
#   CONF_DIR   where passwd and acl live (default /etc/mosquitto)
#   TOPIC_ROOT contract topic root (default checkin/v1)
# Then: systemctl reload mosquitto (SIGHUP re-reads passwd and acl).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
CONF_DIR=${CONF_DIR:-/etc/mosquitto}
TOPIC_ROOT=${TOPIC_ROOT:-checkin/v1}

if [ "$#" -ne 2 ]; then
    echo "usage: add-kiosk.sh BRANCH KIOSK   (KIOSK_PASSWORD in the environment)" >&2
    exit 64
fi
BRANCH=$1
KIOSK=$2
# Same alphabet as the MQTT contract; anything else could widen the ACL
# ("+", "#") or break the file.
for id in "$BRANCH" "$KIOSK"; do
    if ! printf '%s' "$id" | grep -Eq '^[a-z0-9-]{1,32}$'; then
        echo "add-kiosk.sh: '$id' is not a branch or kiosk id: use 1 to 32 of a-z, 0-9 and '-'" >&2
        exit 65
    fi
done
KIOSK_USER="$BRANCH.$KIOSK"

if [ ! -f "$CONF_DIR/acl" ]; then
    echo "add-kiosk.sh: $CONF_DIR/acl is missing: render acl.base there first (see docs/deployment.md)" >&2
    exit 66
fi

generated=no
if [ -z "${KIOSK_PASSWORD:-}" ]; then
    KIOSK_PASSWORD=$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')
    generated=yes
fi

# Password: mosquitto_passwd -b replaces an existing entry for the user.
[ -f "$CONF_DIR/passwd" ] || : > "$CONF_DIR/passwd"
mosquitto_passwd -b "$CONF_DIR/passwd" "$KIOSK_USER" "$KIOSK_PASSWORD"

# ACL: drop this user's old block, then append the new one; written to a
# temporary file and moved, so mosquitto never reads half a file.
tmp="$CONF_DIR/acl.tmp.$$"
trap 'rm -f "$tmp"' EXIT
awk -v begin="# BEGIN kiosk $KIOSK_USER" -v end="# END kiosk $KIOSK_USER" '
    $0 == begin { skipping = 1; next }
    $0 == end   { skipping = 0; next }
    !skipping
' "$CONF_DIR/acl" > "$tmp"
KIOSK_USER=$KIOSK_USER BRANCH=$BRANCH KIOSK=$KIOSK TOPIC_ROOT=$TOPIC_ROOT \
    "$here/../../lib/render-template.sh" "$here/kiosk-acl.template" >> "$tmp"
chmod --reference="$CONF_DIR/acl" "$tmp"
# mosquitto re-reads the ACL as its own user after a reload.
chown --reference="$CONF_DIR/acl" "$tmp"
mv "$tmp" "$CONF_DIR/acl"
trap - EXIT

echo "kiosk user $KIOSK_USER is in $CONF_DIR/passwd and $CONF_DIR/acl"
if [ "$generated" = yes ]; then
    echo "its password (put it in the Pi's site.env as BRIDGE_PASSWORD): $KIOSK_PASSWORD"
fi

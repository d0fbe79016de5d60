#!/bin/sh
# Turn a Raspberry Pi (Raspberry Pi OS Lite 64-bit, bookworm or trixie; Pi 4
# or 5) into a branch kiosk: packages, the kiosk user, the app in a virtual
# environment, the config, udev rules, the local broker bridged to central,
# SD card care and the services.
#
# Usage: sudo deploy/pi/install.sh [SITE_ENV]
#   SITE_ENV: the site values (see deploy/pi/site.env.example); copied to
#   /etc/branch-checkin/site.env. Without it, that file is used.
#
# Safe to run again: every file is rewritten whole from the source tree (never
# appended to), the site's kiosk.toml and staff passwords are never
# overwritten, and the user and venv are created only when missing.
#
# Environment, for tests and image builds:
#   ROOT=/path        install into that tree instead of / (nothing outside it
#                     is touched; implies no service restarts)
#   SKIP_APT=1        do not install Debian packages
#   SKIP_USERS=1      do not create the kiosk user or change owners/groups
#   SKIP_VENV=1       do not create the virtual environment or pip install
#   SKIP_SYSTEMCTL=1  do not reload/enable/restart services or udev
#   INSTALL_ARCH=...  the machine to check instead of "uname -m"
#   KIVY_FROM_SOURCE=1  build Kivy against Debian's SDL2 (KMS/DRM) instead of
#                     using its wheel (see docs/deployment.md)
set -eu

SRC=$(cd "$(dirname "$0")/../.." && pwd)
ROOT=${ROOT:-}
SKIP_APT=${SKIP_APT:-0}
SKIP_USERS=${SKIP_USERS:-0}
SKIP_VENV=${SKIP_VENV:-0}
SKIP_SYSTEMCTL=${SKIP_SYSTEMCTL:-0}
KIVY_FROM_SOURCE=${KIVY_FROM_SOURCE:-0}
if [ -n "$ROOT" ]; then
    SKIP_SYSTEMCTL=1
fi

APP_DIR=/opt/branch-checkin
ETC_DIR=/etc/branch-checkin
STATE_DIR=/var/lib/branch-checkin
KIOSK_USER=kiosk
RENDER="$SRC/deploy/lib/render-template.sh"

say() { echo "install.sh: $*"; }
die() {
    code=$1
    shift
    echo "install.sh: $*" >&2
    exit "$code"
}

# --- supported system ------------------------------------------------------
check_supported_system() {
    arch=${INSTALL_ARCH:-$(uname -m)}
    if [ "$arch" != aarch64 ]; then
        die 3 "unsupported machine '$arch': install the 64-bit Raspberry Pi OS Lite (aarch64) on a Pi 4 or 5"
    fi
    if [ ! -r "$ROOT/etc/os-release" ]; then
        die 3 "no $ROOT/etc/os-release: this is not a Raspberry Pi OS / Debian system"
    fi
    # A subshell, so os-release's variables do not leak into ours.
    # shellcheck disable=SC1091  # the target system's file, read at run time
    release=$(. "$ROOT/etc/os-release" && echo "${ID:-?} ${VERSION_CODENAME:-?}")
    case "$release" in
        "debian bookworm" | "debian trixie" | "raspbian bookworm" | "raspbian trixie") ;;
        *) die 3 "unsupported system '$release': use Raspberry Pi OS Lite 64-bit, bookworm or trixie" ;;
    esac
    if [ -z "$ROOT" ] && [ "$(id -u)" -ne 0 ]; then
        die 1 "run as root: sudo $0"
    fi
}

# --- site values -------------------------------------------------------------
load_site_env() {
    site="$ROOT$ETC_DIR/site.env"
    if [ "$#" -ge 1 ]; then
        [ -r "$1" ] || die 4 "cannot read site file '$1'"
        install -D -m 0600 "$1" "$site"
    fi
    if [ ! -r "$site" ]; then
        install -D -m 0600 "$SRC/deploy/pi/site.env.example" "$site"
        die 4 "no site values yet: fill in $site (see the comments in it) and run again"
    fi
    # shellcheck disable=SC1090  # the site file is the operator's, found at run time
    . "$site"
    missing=""
    for name in BRANCH KIOSK TOPIC_ROOT CENTRAL_HOST CENTRAL_PORT CENTRAL_CA_FILE \
        BRIDGE_USERNAME BRIDGE_PASSWORD DOOR_SERIAL PRINTER_VID PRINTER_PID; do
        eval "value=\${$name:-}"
        [ -n "$value" ] || missing="$missing $name"
    done
    [ -z "$missing" ] || die 4 "$site lacks:$missing (see deploy/pi/site.env.example)"
    check_value BRANCH "$BRANCH" '^[a-z0-9-]{1,32}$' "1 to 32 of a-z, 0-9 and -"
    check_value KIOSK "$KIOSK" '^[a-z0-9-]{1,32}$' "1 to 32 of a-z, 0-9 and -"
    check_value BRIDGE_USERNAME "$BRIDGE_USERNAME" "^$BRANCH\\.$KIOSK\$" "$BRANCH.$KIOSK"
    check_value CENTRAL_PORT "$CENTRAL_PORT" '^[0-9]{1,5}$' "a port number"
    check_value DOOR_SERIAL "$DOOR_SERIAL" '^[0-9A-Fa-f]{8,32}$' "the board's hex serial number"
    check_value PRINTER_VID "$PRINTER_VID" '^[0-9a-f]{4}$' "4 lowercase hex digits"
    check_value PRINTER_PID "$PRINTER_PID" '^[0-9a-f]{4}$' "4 lowercase hex digits"
    check_value BRIDGE_PASSWORD "$BRIDGE_PASSWORD" '^[^[:space:]#]+$' "no spaces and no #"
    if [ "$BRIDGE_PASSWORD" = change-me ]; then
        die 4 "BRIDGE_PASSWORD in $site is still the example; put in the password add-kiosk.sh gave"
    fi
    [ -r "$ROOT$CENTRAL_CA_FILE" ] || die 4 "CENTRAL_CA_FILE $CENTRAL_CA_FILE is missing: copy central's CA certificate there"
    export BRANCH KIOSK TOPIC_ROOT CENTRAL_HOST CENTRAL_PORT CENTRAL_CA_FILE \
        BRIDGE_USERNAME BRIDGE_PASSWORD DOOR_SERIAL PRINTER_VID PRINTER_PID
}

check_value() {
    if ! printf '%s' "$2" | grep -Eq "$3"; then
        die 4 "$1='$2' in site.env: expected $4"
    fi
}

# --- packages and user ---------------------------------------------------------
install_packages() {
    [ "$SKIP_APT" = 1 ] && { say "skipping Debian packages (SKIP_APT=1)"; return; }
    # Runtime libraries for Kivy on KMS/DRM (GLES, GBM, DRM, touch via mtdev),
    # fonts with Polish letters, the broker, libusb for the printer, and
    # lsusb/udevadm for finding the devices.
    packages="mosquitto mosquitto-clients python3 python3-venv ca-certificates \
        libgles2 libegl1 libgbm1 libdrm2 libmtdev1 libinput10 \
        libsdl2-2.0-0 libsdl2-image-2.0-0 libsdl2-mixer-2.0-0 libsdl2-ttf-2.0-0 \
        fonts-dejavu-core libusb-1.0-0 usbutils sqlite3"
    if [ "$KIVY_FROM_SOURCE" = 1 ]; then
        packages="$packages build-essential python3-dev pkg-config libsdl2-dev \
            libsdl2-image-dev libsdl2-mixer-dev libsdl2-ttf-dev libmtdev-dev"
    fi
    apt-get update
    # shellcheck disable=SC2086  # word splitting of the list is wanted
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $packages
}

create_user() {
    [ "$SKIP_USERS" = 1 ] && { say "skipping the kiosk user (SKIP_USERS=1)"; return; }
    if ! getent passwd "$KIOSK_USER" >/dev/null; then
        useradd --system --user-group --home-dir "$STATE_DIR" --no-create-home \
            --shell /usr/sbin/nologin "$KIOSK_USER"
    fi
    # Screen (video, render), touch (input), door (dialout), printer (lp); the
    # same groups the kiosk unit asks for with SupplementaryGroups=.
    for group in video render input dialout lp; do
        getent group "$group" >/dev/null || die 6 "group '$group' is missing: is this Raspberry Pi OS?"
        usermod -a -G "$group" "$KIOSK_USER"
    done
}

own() { # own USER:GROUP PATH, unless SKIP_USERS
    [ "$SKIP_USERS" = 1 ] || chown "$1" "$2"
}

# --- files ---------------------------------------------------------------------
render_to() { # render_to TEMPLATE DEST MODE
    tmp=$(mktemp)
    if ! "$RENDER" "$1" > "$tmp"; then
        rm -f "$tmp"
        die 5 "could not render $1"
    fi
    install -D -m "$3" "$tmp" "$ROOT$2"
    rm -f "$tmp"
}

install_app_files() {
    install -d -m 0755 "$ROOT$APP_DIR" "$ROOT$APP_DIR/docs"
    install -d -m 0750 "$ROOT$ETC_DIR" "$ROOT$STATE_DIR"
    # The kiosk reads its config here (site.env inside stays root's, 0600).
    own "root:$KIOSK_USER" "$ROOT$ETC_DIR"
    own "$KIOSK_USER:$KIOSK_USER" "$ROOT$STATE_DIR"
    # The deploy kit itself (health scripts the timer runs) and its manual.
    rm -rf "$ROOT$APP_DIR/deploy"
    cp -R "$SRC/deploy" "$ROOT$APP_DIR/deploy"
    # Fonts with Polish glyphs, the screen's catalogs and sounds: not inside the Python
    # package, so the service points KIOSK_ASSETS_DIR here.
    rm -rf "$ROOT$APP_DIR/assets"
    cp -R "$SRC/assets" "$ROOT$APP_DIR/assets"
    install -m 0644 "$SRC/docs/deployment.md" "$ROOT$APP_DIR/docs/deployment.md"
}

install_venv() {
    [ "$SKIP_VENV" = 1 ] && { say "skipping the virtual environment (SKIP_VENV=1)"; return; }
    [ -x "$ROOT$APP_DIR/venv/bin/python" ] || python3 -m venv "$ROOT$APP_DIR/venv"
    "$ROOT$APP_DIR/venv/bin/pip" install --upgrade pip
    if [ "$KIVY_FROM_SOURCE" = 1 ]; then
        "$ROOT$APP_DIR/venv/bin/pip" install --no-binary kivy --upgrade "$SRC"
    else
        "$ROOT$APP_DIR/venv/bin/pip" install --upgrade "$SRC"
    fi
}

install_config() {
    example="$SRC/deploy/kiosk.example.toml"
    [ -r "$example" ] || die 5 "$example is missing from the source tree"
    # The site's config is never overwritten; the example sits beside it so
    # new settings can be compared after an upgrade.
    install -m 0644 "$example" "$ROOT$ETC_DIR/kiosk.example.toml"
    if [ ! -e "$ROOT$ETC_DIR/kiosk.toml" ]; then
        install -m 0640 "$example" "$ROOT$ETC_DIR/kiosk.toml"
        own "root:$KIOSK_USER" "$ROOT$ETC_DIR/kiosk.toml"
        say "installed $ETC_DIR/kiosk.toml from the example: set branch, kiosk and devices in it"
    fi
    # The example names this file for the local broker; the loopback listener
    # accepts any password, so a random one is fine until the site sets its own.
    if [ ! -e "$ROOT$ETC_DIR/mqtt-password" ]; then
        od -An -N18 -tx1 /dev/urandom | tr -d ' \n' > "$ROOT$ETC_DIR/mqtt-password"
        chmod 0640 "$ROOT$ETC_DIR/mqtt-password"
        own "root:$KIOSK_USER" "$ROOT$ETC_DIR/mqtt-password"
    fi
    # Print previews and files for the printer (paths.spool_dir in the example).
    install -d -m 0750 "$ROOT/var/spool/branch-checkin"
    own "$KIOSK_USER:$KIOSK_USER" "$ROOT/var/spool/branch-checkin"
}

install_units() {
    units="$ROOT/etc/systemd/system"
    for unit in branch-checkin-kiosk.service branch-checkin-health.service \
        branch-checkin-health.timer; do
        install -D -m 0644 "$SRC/deploy/systemd/$unit" "$units/$unit"
    done
    install -D -m 0644 "$SRC/deploy/systemd/mosquitto.service.d/branch-checkin.conf" \
        "$units/mosquitto.service.d/branch-checkin.conf"
    install -D -m 0644 "$SRC/deploy/sdcard/tmp.mount" "$units/tmp.mount"
    install -D -m 0644 "$SRC/deploy/sdcard/journald.conf.d/branch-checkin.conf" \
        "$ROOT/etc/systemd/journald.conf.d/branch-checkin.conf"
}

install_udev_rules() {
    rules=/etc/udev/rules.d
    render_to "$SRC/deploy/udev/60-branch-checkin-door.rules" \
        "$rules/60-branch-checkin-door.rules" 0644
    render_to "$SRC/deploy/udev/60-branch-checkin-printer.rules" \
        "$rules/60-branch-checkin-printer.rules" 0644
}

install_broker() {
    conf=/etc/mosquitto
    # Debian's own file is kept once, for reference, before ours replaces it.
    if [ -f "$ROOT$conf/mosquitto.conf" ] && [ ! -e "$ROOT$conf/mosquitto.conf.debian" ] \
        && ! grep -q 'branch Raspberry Pi' "$ROOT$conf/mosquitto.conf"; then
        cp "$ROOT$conf/mosquitto.conf" "$ROOT$conf/mosquitto.conf.debian"
    fi
    LOCAL_PORT=1883 LAN_PORT=1884 CONF_DIR=$conf DATA_DIR=/var/lib/mosquitto
    PID_FILE=/run/mosquitto/mosquitto.pid
    export LOCAL_PORT LAN_PORT CONF_DIR DATA_DIR PID_FILE
    render_to "$SRC/deploy/mosquitto/branch/mosquitto.conf" "$conf/mosquitto.conf" 0644
    # mosquitto reads the CA after dropping to its own user, which cannot enter
    # /etc/branch-checkin: the bridge uses a copy beside mosquitto's config.
    ca_copy=$conf/certs/central-ca.crt
    if [ "$CENTRAL_CA_FILE" != "$ca_copy" ]; then
        install -D -m 0644 "$ROOT$CENTRAL_CA_FILE" "$ROOT$ca_copy"
    fi
    CENTRAL_CA_FILE=$ca_copy
    # Holds the password for central: readable by mosquitto only.
    render_to "$SRC/deploy/mosquitto/branch/central-bridge.conf" \
        "$conf/conf.d/central-bridge.conf" 0640
    own root:mosquitto "$ROOT$conf/conf.d/central-bridge.conf"
    # Staff screen accounts are the site's: created empty once, never replaced.
    if [ ! -e "$ROOT$conf/lan-passwd" ]; then
        install -m 0640 /dev/null "$ROOT$conf/lan-passwd"
        own root:mosquitto "$ROOT$conf/lan-passwd"
    fi
    install -d -m 0755 "$ROOT/var/lib/mosquitto"
    own mosquitto:mosquitto "$ROOT/var/lib/mosquitto"
}

# --- kernel command line ---------------------------------------------------------
enable_memory_cgroup() {
    # Raspberry Pi kernels boot with the memory cgroup off; without it the
    # kiosk unit's MemoryHigh=/MemoryMax= are silently not enforced. The
    # kernel reads cmdline.txt at the next boot.
    cmdline="$ROOT/boot/firmware/cmdline.txt"
    [ -f "$cmdline" ] || cmdline="$ROOT/boot/cmdline.txt"
    if [ ! -f "$cmdline" ]; then
        say "no cmdline.txt: add cgroup_enable=memory to the kernel command line yourself"
        return
    fi
    for token in cgroup_enable=memory cgroup_memory=1; do
        if ! tr ' ' '\n' < "$cmdline" | grep -qx "$token"; then
            # cmdline.txt is one line: the token goes at its end.
            sed -i "1s/\$/ $token/" "$cmdline"
            say "added $token to $cmdline; it takes effect at the next reboot"
        fi
    done
}

# --- services ----------------------------------------------------------------------
start_services() {
    [ "$SKIP_SYSTEMCTL" = 1 ] && { say "skipping services and udev (SKIP_SYSTEMCTL=1 or ROOT set)"; return; }
    systemctl daemon-reload
    # Swap on the SD card is the heaviest writer on a Pi; the kiosk fits in RAM.
    if systemctl list-unit-files dphys-swapfile.service >/dev/null 2>&1; then
        dphys-swapfile swapoff || true
        systemctl disable --now dphys-swapfile.service || true
    fi
    # tmp.mount takes effect at the next boot, not under running programs.
    systemctl enable tmp.mount
    systemctl restart systemd-journald
    udevadm control --reload
    udevadm trigger --subsystem-match=tty --subsystem-match=usb --subsystem-match=usbmisc
    systemctl enable mosquitto.service branch-checkin-kiosk.service branch-checkin-health.timer
    systemctl restart mosquitto.service
    systemctl restart branch-checkin-kiosk.service
    systemctl start branch-checkin-health.timer
}

check_supported_system
load_site_env "$@"
install_packages
create_user
install_app_files
install_venv
install_config
install_units
install_udev_rules
install_broker
enable_memory_cgroup
start_services
say "done. Check the kiosk with: sudo $APP_DIR/venv/bin/kiosk doctor --config $ETC_DIR/kiosk.toml"

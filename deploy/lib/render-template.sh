#!/bin/sh
# Render a deploy template: every @NAME@ is replaced by the value of the
# environment variable NAME.
#
# Usage: render-template.sh TEMPLATE > OUTPUT
#
# Why a tiny renderer of our own: envsubst (gettext-base) is not on every
# Raspberry Pi OS Lite image, and a placeholder left unfilled must stop the
# install instead of reaching mosquitto or udev as a literal "@NAME@".
# The install script and the tests render the very same templates with it.
set -eu

if [ "$#" -ne 1 ] || [ ! -r "$1" ]; then
    echo "render-template.sh: give one readable template file (got: $*)" >&2
    exit 64
fi

# awk does the work: ENVIRON gives the values; index/substr (not gsub) keep
# "&" and "\" in values (passwords) literal.
awk -v template="$1" '
BEGIN { failed = 0 }
{
    line = $0; out = ""
    while (match(line, /@[A-Z][A-Z0-9_]*@/)) {
        name = substr(line, RSTART + 1, RLENGTH - 2)
        if (!(name in ENVIRON)) {
            printf "%s:%d: @%s@ is not set; export %s=... and render again\n", \
                template, NR, name, name > "/dev/stderr"
            failed = 1
            value = ""
        } else if (index(ENVIRON[name], "\n") > 0) {
            printf "%s:%d: @%s@ holds a line break; config values are one line\n", \
                template, NR, name > "/dev/stderr"
            failed = 1
            value = ""
        } else {
            value = ENVIRON[name]
        }
        out = out substr(line, 1, RSTART - 1) value
        line = substr(line, RSTART + RLENGTH)
    }
    print out line
}
END { exit failed }
' "$1"

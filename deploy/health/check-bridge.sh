#!/bin/sh
# Is the branch broker's bridge to central up? Reads the retained state the
# bridge publishes on the local broker ($SYS/broker/connection/<id>/state,
# "1" up, "0" down; see deploy/mosquitto/branch/central-bridge.conf).
#
# Exit 0 up, 1 down, 2 unknown (broker unreachable or no state yet).
# Every default can be overridden from the environment, so the tests run this
# very script against their own brokers:
#   MQTT_HOST (127.0.0.1)  MQTT_PORT (1883)  TIMEOUT_S (3)
#   BRIDGE_CLIENT_ID (+, any bridge: a kiosk Pi has one, and its config,
#   which holds the password, is not readable by the kiosk user)
set -u

MQTT_HOST=${MQTT_HOST:-127.0.0.1}
MQTT_PORT=${MQTT_PORT:-1883}
TIMEOUT_S=${TIMEOUT_S:-3}
BRIDGE_CLIENT_ID=${BRIDGE_CLIENT_ID:-+}

topic="\$SYS/broker/connection/$BRIDGE_CLIENT_ID/state"
state=$(mosquitto_sub -h "$MQTT_HOST" -p "$MQTT_PORT" -t "$topic" -C 1 -W "$TIMEOUT_S" 2>/dev/null)
case "$state" in
    1) echo "bridge: up: connected to central"; exit 0 ;;
    0) echo "bridge: down: central unreachable; events wait in the queue. Check the network and the central address in site.env"; exit 1 ;;
    *) echo "bridge: unknown: no bridge state from the broker at $MQTT_HOST:$MQTT_PORT; is mosquitto running (systemctl status mosquitto) and the bridge installed (/etc/mosquitto/conf.d/central-bridge.conf)?"; exit 2 ;;
esac

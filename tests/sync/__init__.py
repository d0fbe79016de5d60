"""Tests of the kiosk's MQTT sync with central, against real mosquitto processes."""

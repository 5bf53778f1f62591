#!/bin/sh
# The image runs `akri-mqtt <arguments>`, by default `serve` (the discovery handler).
# AKRI_MQTT_COMMAND replaces that default for deployments that can set environment
# variables but not arguments (Akri's Helm chart: brokerPod.env.AKRI_MQTT_COMMAND=monitor).
if [ -n "${AKRI_MQTT_COMMAND:-}" ] && [ "$*" = "serve" ]; then
  set -- "$AKRI_MQTT_COMMAND"
fi
exec node "$(dirname "$0")/dist/cli.js" "$@"

import { filter, merge, type Observable } from "rxjs";
import { log } from "../log.js";
import { GenericMonitor } from "../monitor/generic-monitor.js";
import {
  type MonitorConfig,
  type MonitorFlags,
  monitorConfig,
  monitorSubscriptions,
} from "../monitor/monitor-config.js";
import { MonitorServer } from "../monitor/monitor-server.js";
import { SparkplugMonitor } from "../monitor/sparkplug-monitor.js";
import { redactUrl } from "../mqtt/connect-hints.js";
import { BrokerConnection, maxPacketBytesFor } from "../mqtt/connection.js";
import type { MqttMessage } from "../mqtt/message.js";
import { untilStopped } from "./until-stopped.js";
import { UsageError } from "./usage-error.js";

/**
 * `akri-mqtt monitor`: the workload Akri runs for a discovered device (the MQTT Monitoring
 * Broker). Configured by the device's properties in the environment; a persistent MQTT
 * session with QoS 1 subscriptions, so nothing published while it restarts is lost; the
 * device's state over HTTP, as a live page, JSON, Prometheus and Server-Sent Events.
 */
export async function monitorCommand(options: MonitorFlags): Promise<void> {
  const stopped = untilStopped();
  const parsed = monitorConfig(process.env, options);
  if (!parsed.ok) throw new UsageError(parsed.error);
  const { config } = parsed;
  for (const warning of parsed.warnings) log.warn(warning);
  const { device } = config;
  // Not connected yet: messages the broker kept for our session arrive right after CONNACK,
  // and everything that reads them (and the saved births that decode them) must be ready.
  // One connection per broker the device may live on (with several, it moves with its node).
  const connections = config.brokers.map((serverUrls, i) =>
    BrokerConnection.idle({
      serverUrls,
      clientId: config.clientId,
      mqttVersion: config.mqttVersion,
      credentials: config.credentials[i]!,
      clean: false,
      sessionExpirySeconds: config.sessionExpirySeconds,
      will: config.will,
      maxPacketBytes: maxPacketBytesFor(config.maxPayloadBytes),
      configuredBy: { clientId: "MONITOR_CLIENT_ID", mqttVersion: "MONITOR_MQTT_VERSION" },
    }),
  );
  const monitor =
    device.mode === "sparkplug"
      ? new SparkplugMonitor(device, config, connections)
      : new GenericMonitor(device, connections);
  if (device.mode === "generic" && config.allowCommands)
    log.warn("MONITOR_ALLOW_COMMANDS has no effect on a generic MQTT device");
  const messages$ = merge(...connections.map((c) => c.messages$));
  await monitor.start(withinLimit(messages$, config, () => monitor.metrics.rejected.inc()));
  for (const connection of connections) {
    connection.subscribe(monitorSubscriptions(device));
    connection.start();
  }

  const server = await MonitorServer.start(config.httpHost, config.httpPort, {
    view: monitor.view,
    metrics: () => monitor.metrics.text(),
    metricsContentType: monitor.metrics.registry.contentType,
    command: config.allowCommands ? monitor.command : undefined,
    commandToken: config.commandToken,
    allowedHosts: config.allowedHosts,
  });
  log.info(
    {
      device: device.id,
      instance: config.instanceHash,
      brokers: config.brokers.map((urls) => urls.map(redactUrl).join(",")),
      clientId: config.clientId,
      commands: config.allowCommands,
    },
    "monitoring the device (persistent session, QoS 1)",
  );
  await stopped;
  await server.stop();
  await Promise.all(connections.map((c) => c.close()));
  await monitor.stop();
  log.info("monitor stopped");
}

/** The messages whose payload is within MONITOR_MAX_PAYLOAD_BYTES; the others are counted and skipped. */
function withinLimit(
  messages$: Observable<MqttMessage>,
  config: MonitorConfig,
  onRejected: () => void,
): Observable<MqttMessage> {
  let logged = 0;
  return messages$.pipe(
    filter((message) => {
      if (message.payload.byteLength <= config.maxPayloadBytes) return true;
      onRejected();
      if (logged++ < 20)
        log.warn(
          { topic: message.topic, bytes: message.payload.byteLength, limit: config.maxPayloadBytes },
          "message skipped: payload exceeds MONITOR_MAX_PAYLOAD_BYTES",
        );
      return false;
    }),
  );
}

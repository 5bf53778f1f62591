import { asyncScheduler } from "rxjs";
import { log } from "../log.js";
import { BirthStore } from "../monitor/birth-store.js";
import { buildCommand } from "../monitor/device-command.js";
import { GenericDeviceView } from "../monitor/generic-device-view.js";
import { type MonitorFlags, monitorConfig, monitorSubscriptions } from "../monitor/monitor-config.js";
import { MonitorMetrics } from "../monitor/monitor-metrics.js";
import { type CommandReply, MonitorServer } from "../monitor/monitor-server.js";
import { SparkplugDeviceView } from "../monitor/sparkplug-device-view.js";
import { redactUrl } from "../mqtt/connect-hints.js";
import { BrokerConnection, maxPacketBytesFor } from "../mqtt/connection.js";
import type { MqttMessage } from "../mqtt/message.js";
import type { HostInput } from "../sparkplug/host/host-session.js";
import { HostSession } from "../sparkplug/host/host-session.js";
import { hostOptions } from "../sparkplug/host/options.js";
import { deadlineTicks } from "../streams/discovery-pipeline.js";
import { untilStopped } from "./until-stopped.js";
import { UsageError } from "./usage-error.js";

/**
 * `akri-mqtt monitor`: the workload Akri runs for a discovered device (the MQTT Monitoring
 * Broker). Configured by the device's properties in the environment; a persistent MQTT
 * session with QoS 1 subscriptions, so nothing published while it restarts is lost; the
 * device's state over HTTP, as a live page, JSON, Prometheus and Server-Sent Events.
 */
export async function monitorCommand(options: MonitorFlags): Promise<void> {
  const parsed = monitorConfig(process.env, options);
  if (!parsed.ok) throw new UsageError(parsed.error);
  const { config } = parsed;
  for (const warning of parsed.warnings) log.warn(warning);
  const { device } = config;
  // Not connected yet: messages the broker kept for our session arrive right after CONNACK,
  // and everything that reads them (and the saved births that decode them) must be ready.
  const connection = BrokerConnection.idle({
    serverUrls: config.serverUrls,
    clientId: config.clientId,
    mqttVersion: config.mqttVersion,
    credentials: config.credentials,
    clean: false,
    sessionExpirySeconds: config.sessionExpirySeconds,
    will: config.will,
    maxPacketBytes: maxPacketBytesFor(config.maxPayloadBytes),
    configuredBy: { clientId: "MONITOR_CLIENT_ID", mqttVersion: "MONITOR_MQTT_VERSION" },
  });
  let metrics: MonitorMetrics;
  let oversizeLogged = 0;
  const tooLarge = (message: MqttMessage): boolean => {
    if (message.payload.byteLength <= config.maxPayloadBytes) return false;
    metrics.rejected.inc();
    if (oversizeLogged++ < 20)
      log.warn(
        { topic: message.topic, bytes: message.payload.byteLength, limit: config.maxPayloadBytes },
        "message skipped: payload exceeds MONITOR_MAX_PAYLOAD_BYTES",
      );
    return true;
  };
  let command: ((body: unknown) => Promise<CommandReply>) | undefined;
  let sparkplug: { view: SparkplugDeviceView; store: BirthStore } | undefined;
  let generic: GenericDeviceView | undefined;
  // Ticks at the host session's next deadline (rebirth pacing, unproven grace).
  const clock = deadlineTicks(asyncScheduler);

  if (device.mode === "sparkplug") {
    const session = new HostSession(
      hostOptions({
        hostId: config.clientId,
        publishState: false,
        trackValues: true,
        checkSequence: false,
        // This monitor sees one device of the node: a "gap" is other devices' traffic.
        rebirth: { onSeqGap: false },
      }),
    );
    const view = new SparkplugDeviceView(device, session, config.allowCommands);
    const store = new BirthStore(config.stateDir, device);
    sparkplug = { view, store };
    metrics = new MonitorMetrics(view);
    const step = (input: HostInput) => {
      try {
        stepSession(input);
      } catch (e) {
        // Never let one message take the monitor down; it is counted and logged.
        metrics.decodeErrors.inc();
        log.error({ err: (e as Error).message, input: input.kind }, "the monitor could not process an input");
      }
    };
    const stepSession = (input: HostInput) => {
      const out = session.step(input, Date.now());
      view.apply(out);
      for (const processed of out.processed) {
        const topic = processed.topic;
        const verb = topic.kind === "node" || topic.kind === "device" ? topic.verb : undefined;
        if (topic.kind !== "certificate") metrics.messages.inc();
        if (processed.events.some((e) => e.kind === "decode-error")) metrics.decodeErrors.inc();
        // Live births are kept, so that DATA queued while we are down can be read after a restart.
        if ((verb === "NBIRTH" || verb === "DBIRTH") && !processed.message.retain && processed.payload)
          store.save(verb, processed.message.topic, processed.message.payload, processed.message.at);
      }
      for (const c of out.commands) void connection.publish(c);
      clock.setDeadline(session.nextDeadline());
    };
    clock.ticks$.subscribe(() => step({ kind: "tick" }));
    const restored = await store.load();
    for (const message of restored) step({ kind: "message", message });
    let confirmSavedBirth = restored.length > 0;
    connection.messages$.subscribe((message) => {
      if (tooLarge(message)) return;
      step({ kind: "message", message });
    });
    connection.status$.subscribe((status) => {
      if (status.kind === "online") {
        view.setConnected(true, status.broker);
        step({ kind: "broker-online", broker: status.broker, willTimestamp: status.willTimestamp });
        // The saved birth decodes what waited in the session, but its aliases may be out of
        // date: ask for a fresh birth once (within the rebirth policy's limits).
        if (confirmSavedBirth) {
          confirmSavedBirth = false;
          step({ kind: "request-rebirth", group: device.group, edge: device.edge });
        }
      } else if (status.kind === "offline") {
        view.setConnected(false, status.broker);
        if (status.broker !== undefined) step({ kind: "broker-lost", broker: status.broker });
      }
    });
    if (config.allowCommands) {
      command = async (body) => {
        const request = (body ?? {}) as { metric?: unknown; value?: unknown };
        const built = buildCommand(device, view.birthTable(), request.metric, request.value, Date.now());
        if (!built.ok) {
          metrics.commands.inc({ result: "refused" });
          return { status: 400, body: { error: built.error } };
        }
        const sent = await connection.publish({
          topic: built.topic,
          payload: built.payload,
          qos: 0,
          retain: false,
          purpose: "command",
        });
        if (!sent) {
          metrics.commands.inc({ result: "failed" });
          return { status: 503, body: { error: "not connected to the broker; try again" } };
        }
        metrics.commands.inc({ result: "sent" });
        log.info({ topic: built.topic, metric: built.metric, datatype: built.datatype }, "command sent");
        return {
          status: 202,
          body: { topic: built.topic, metric: built.metric, datatype: built.datatype, value: built.value },
        };
      };
    }
  } else {
    const view = new GenericDeviceView(device);
    generic = view;
    metrics = new MonitorMetrics(view);
    connection.messages$.subscribe((message) => {
      if (tooLarge(message)) return;
      metrics.messages.inc();
      view.apply(message);
    });
    connection.status$.subscribe((status) => {
      if (status.kind === "online") view.setConnected(true, status.broker);
      else if (status.kind === "offline") view.setConnected(false, status.broker);
    });
    if (config.allowCommands) log.warn("MONITOR_ALLOW_COMMANDS has no effect on a generic MQTT device");
  }
  connection.subscribe(monitorSubscriptions(device));
  connection.start();

  const view = sparkplug?.view ?? generic!;
  const server = await MonitorServer.start(config.httpHost, config.httpPort, {
    view,
    metrics: () => metrics.text(),
    metricsContentType: metrics.registry.contentType,
    command,
    commandToken: config.commandToken,
    allowedHosts: config.allowedHosts,
  });
  log.info(
    {
      device: device.id,
      instance: config.instanceHash,
      serverUrls: config.serverUrls.map(redactUrl),
      clientId: config.clientId,
      commands: config.allowCommands,
    },
    "monitoring the device (persistent session, QoS 1)",
  );
  await untilStopped();
  clock.stop();
  await server.stop();
  await connection.close();
  await sparkplug?.store.flush();
  log.info("monitor stopped");
}

import { asyncScheduler, concat, from, map, merge, mergeMap, type Observable, type Subscription } from "rxjs";
import { log } from "../log.js";
import type { BrokerConnection, ConnectionStatus } from "../mqtt/connection.js";
import type { MqttMessage } from "../mqtt/message.js";
import { type HostInput, HostSession } from "../sparkplug/host/host-session.js";
import { hostOptions } from "../sparkplug/host/options.js";
import type { HostStep } from "../sparkplug/host/step.js";
import { runReducer, type TimedReducer } from "../streams/timed-reducer.js";
import { BirthStore } from "./birth-store.js";
import { buildCommand } from "./device-command.js";
import type { MonitorConfig, MonitoredDevice } from "./monitor-config.js";
import { MonitorMetrics } from "./monitor-metrics.js";
import type { CommandReply } from "./monitor-server.js";
import { SparkplugDeviceView } from "./sparkplug-device-view.js";

/*
 * The monitor of one Sparkplug device or edge node: a host session fed by the persistent
 * session's messages through the same reducer path as discovery (inputs, plus ticks at the
 * session's deadlines), the device's view, and the births it keeps on disk so that DATA
 * queued while it was down can be decoded after a restart.
 */

type SparkplugDevice = Extract<MonitoredDevice, { mode: "sparkplug" }>;

const TICK: HostInput = { kind: "tick" };

const NOTHING: HostStep = { processed: [], timeline: [], events: [], commands: [] };

export class SparkplugMonitor {
  readonly view: SparkplugDeviceView;
  readonly metrics: MonitorMetrics;
  private readonly session: HostSession;
  private readonly store: BirthStore;
  private subscription: Subscription | undefined;
  /** The fresh birth that confirms a saved one has been asked for. */
  private confirmed = false;

  /** Brokers whose connection is online, by identity: the listener each is on. */
  private readonly online = new Map<string, string>();

  /** `connections`: one per broker the device may live on (it moves with its node). */
  constructor(
    private readonly device: SparkplugDevice,
    config: MonitorConfig,
    private readonly connections: readonly BrokerConnection[],
  ) {
    this.session = new HostSession(
      hostOptions("monitor", {
        hostId: config.clientId,
        // This monitor sees one device of the node: a "gap" is other devices' traffic.
        rebirth: { onSeqGap: false },
      }),
    );
    this.view = new SparkplugDeviceView(device, this.session, config.allowCommands);
    this.store = new BirthStore(config.stateDir, device);
    this.metrics = new MonitorMetrics(this.view);
  }

  /** Restores the saved births, then follows the connection (before it connects). */
  async start(live$: Observable<MqttMessage>): Promise<void> {
    const restored = await this.store.load();
    const inputs$ = concat(
      from(restored).pipe(map((message): HostInput => ({ kind: "message", message }))),
      merge(
        live$.pipe(map((message): HostInput => ({ kind: "message", message }))),
        merge(...this.connections.map((c) => c.status$)).pipe(
          mergeMap((status) => this.statusInputs(status, restored.length > 0)),
        ),
      ),
    );
    this.subscription = runReducer(this.safe(), inputs$, TICK, asyncScheduler).subscribe((step) =>
      this.apply(step),
    );
  }

  /**
   * What a connection change means to the session. The saved birth decodes what waited in
   * the session, but its aliases may be out of date: on the first connect, ask for a fresh
   * birth once (within the rebirth policy's limits).
   */
  private statusInputs(status: ConnectionStatus, restored: boolean): HostInput[] {
    if (status.kind === "online") {
      this.online.set(status.broker, status.listener);
      this.view.setConnected(true, this.listener());
      const inputs: HostInput[] = [
        { kind: "online", broker: status.broker, willTimestamp: status.willTimestamp },
      ];
      if (restored && !this.confirmed) {
        this.confirmed = true;
        inputs.push({ kind: "request-rebirth", group: this.device.group, edge: this.device.edge });
      }
      return inputs;
    }
    if (status.kind === "offline") {
      this.online.delete(status.broker);
      this.view.setConnected(this.online.size > 0, this.listener() ?? status.listener);
      if (status.error !== "closed") return [{ kind: "offline", broker: status.broker }];
    }
    return [];
  }

  /** The listener of the device's broker if it is connected, else of any connected broker. */
  private listener(): string | undefined {
    const on = this.session.node(this.device.group, this.device.edge)?.broker;
    return (on !== undefined ? this.online.get(on) : undefined) ?? this.online.values().next().value;
  }

  /** The connections a publish for this device goes on: its node's broker's, else every one. */
  private targets(broker: string | undefined): readonly BrokerConnection[] {
    const on = broker ?? this.session.node(this.device.group, this.device.edge)?.broker;
    const found = on === undefined ? undefined : this.connections.find((c) => c.uri === on);
    return found ? [found] : this.connections;
  }

  /** The session, never letting one input take the monitor down (it is counted and logged). */
  private safe(): TimedReducer<HostInput, HostStep> {
    const { session, metrics } = this;
    return {
      step(input, now) {
        try {
          return session.step(input, now);
        } catch (e) {
          metrics.decodeErrors.inc();
          log.error(
            { err: (e as Error).message, input: input.kind },
            "the monitor could not process an input",
          );
          return NOTHING;
        }
      },
      nextDeadline: () => session.nextDeadline(),
    };
  }

  private apply(step: HostStep): void {
    this.view.apply(step);
    for (const processed of step.processed) {
      const topic = processed.topic;
      const verb = topic.kind === "node" || topic.kind === "device" ? topic.verb : undefined;
      if (topic.kind !== "certificate") this.metrics.messages.inc();
      if (processed.events.some((e) => e.kind === "decode-error")) this.metrics.decodeErrors.inc();
      // Live births are kept, so that DATA queued while we are down can be read after a restart.
      const { message } = processed;
      if ((verb === "NBIRTH" || verb === "DBIRTH") && !message.retain && processed.payload)
        this.store.save(verb, message.topic, message.payload, message.at);
    }
    for (const command of step.commands)
      for (const connection of this.targets(command.broker)) void connection.publish(command);
  }

  /** POST /command: a DCMD (NCMD for an edge node) with the birth's datatype. */
  readonly command = async (body: unknown): Promise<CommandReply> => {
    const { metrics } = this;
    const request = (body ?? {}) as { metric?: unknown; value?: unknown };
    const built = buildCommand(
      this.device,
      this.view.birthTable(),
      request.metric,
      request.value,
      Date.now(),
    );
    if (!built.ok) {
      metrics.commands.inc({ result: "refused" });
      return { status: 400, body: { error: built.error } };
    }
    const publish = {
      topic: built.topic,
      payload: built.payload,
      qos: 0 as const,
      retain: false,
      purpose: "command",
    };
    const sent = (await Promise.all(this.targets(undefined).map((c) => c.publish(publish)))).some(Boolean);
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

  async stop(): Promise<void> {
    this.subscription?.unsubscribe();
    await this.store.flush();
  }
}

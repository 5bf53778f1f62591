import { merge, type Observable, type Subscription } from "rxjs";
import type { BrokerConnection } from "../mqtt/connection.js";
import type { MqttMessage } from "../mqtt/message.js";
import { GenericDeviceView } from "./generic-device-view.js";
import type { MonitoredDevice } from "./monitor-config.js";
import { MonitorMetrics } from "./monitor-metrics.js";

/* The monitor of one generic MQTT device: every message under its topic filter, as it comes. */

type GenericDevice = Extract<MonitoredDevice, { mode: "generic" }>;

export class GenericMonitor {
  readonly view: GenericDeviceView;
  readonly metrics: MonitorMetrics;
  readonly command = undefined;
  private readonly subscriptions: Subscription[] = [];

  /** Brokers whose connection is online, by identity: the listener each is on. */
  private readonly online = new Map<string, string>();

  constructor(
    device: GenericDevice,
    private readonly connections: readonly BrokerConnection[],
  ) {
    this.view = new GenericDeviceView(device);
    this.metrics = new MonitorMetrics(this.view);
  }

  async start(live$: Observable<MqttMessage>): Promise<void> {
    this.subscriptions.push(
      live$.subscribe((message) => {
        this.metrics.messages.inc();
        this.view.apply(message);
      }),
      merge(...this.connections.map((c) => c.status$)).subscribe((status) => {
        if (status.kind === "online") this.online.set(status.broker, status.listener);
        else if (status.kind === "offline") this.online.delete(status.broker);
        else return;
        this.view.setConnected(this.online.size > 0, this.online.values().next().value ?? status.listener);
      }),
    );
  }

  async stop(): Promise<void> {
    for (const subscription of this.subscriptions) subscription.unsubscribe();
  }
}

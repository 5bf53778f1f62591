import mqtt, { type MqttClient } from "mqtt";
import type { HostEvent } from "../../src/sparkplug/host/events.js";
import { HostSession } from "../../src/sparkplug/host/host-session.js";
import type { EntityStatus } from "../../src/sparkplug/host/model.js";
import { type HostSettings, hostOptions } from "../../src/sparkplug/host/options.js";

/**
 * A HostSession fed by a real MQTT subscription on wall-clock time, publishing its
 * commands back through the same connection: the host model as a test peer.
 */
export class LiveHost {
  readonly events: HostEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  private constructor(
    readonly session: HostSession,
    private readonly client: MqttClient,
  ) {
    client.on("message", (topic, payload, packet) => {
      const message = { topic, payload, qos: packet.qos, retain: packet.retain, at: Date.now() };
      this.apply(session.step({ kind: "message", message }, message.at));
    });
  }

  static async start(url: string, overrides: HostSettings = {}): Promise<LiveHost> {
    const options = hostOptions("discovery", {
      hostId: `test-${Math.random().toString(16).slice(2, 8)}`,
      ...overrides,
    });
    const client = mqtt.connect(url, { clientId: options.hostId, clean: true, reconnectPeriod: 200 });
    await new Promise<void>((resolve, reject) => {
      client.once("connect", () => resolve());
      client.once("error", reject);
    });
    const host = new LiveHost(new HostSession(options), client);
    await client.subscribeAsync(["spBv1.0/#", "STATE/+"], { qos: 1 });
    return host;
  }

  private apply(step: ReturnType<HostSession["step"]>): void {
    this.events.push(...step.events);
    for (const command of step.commands) {
      this.client.publish(command.topic, Buffer.from(command.payload), {
        qos: command.qos,
        retain: command.retain,
      });
    }
    this.schedule();
  }

  /** Ticks exactly when the session next has something to do, as the pipeline does. */
  private schedule(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    const deadline = this.session.nextDeadline();
    if (deadline === undefined) return;
    const tick = () => this.apply(this.session.step({ kind: "tick" }, Date.now()));
    this.timer = setTimeout(tick, Math.max(0, deadline - Date.now()));
  }

  nodeStatus(group: string, edge: string): EntityStatus | undefined {
    return this.session.node(group, edge)?.status;
  }

  deviceStatus(group: string, edge: string, device: string): EntityStatus | undefined {
    return this.session.node(group, edge)?.devices.get(device)?.status;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.client.endAsync();
  }
}

/** Polls `check` until it holds (returns true) or `timeoutMs` passes, then fails with `what`. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

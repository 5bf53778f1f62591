import { brokerProperties } from "../../../src/discovery/broker-properties.js";
import type { DeviceStatus, DiscoveredDevice, UnlistedEntity } from "../../../src/discovery/device.js";
import { sortDevices } from "../../../src/discovery/device.js";
import type { Discoverer, DiscoveryInput, StepSink } from "../../../src/discovery/discoverer.js";
import type { ToyDiscoveryDetails } from "./details.js";

/** A device per topic under `toy.prefix` that has published, listed for good: the least a mode can be. */
export class ToyDiscoverer implements Discoverer {
  readonly subscriptions: readonly string[];
  readonly will = undefined;
  version = 0;
  private readonly devices = new Map<string, DiscoveredDevice>();
  private readonly brokerUri: string;

  constructor(details: ToyDiscoveryDetails) {
    this.subscriptions = [`${details.toy.prefix}/#`];
    this.brokerUri = brokerProperties(details.brokers).uri;
  }

  step(input: DiscoveryInput, _now: number, out: StepSink): void {
    if (input.kind !== "message" || this.devices.has(input.message.topic)) return;
    const { topic } = input.message;
    const device = {
      id: topic,
      kind: "toy-thing",
      properties: { MQTT_BROKER_URI: this.brokerUri, TOY_TOPIC: topic },
    };
    this.devices.set(topic, device);
    this.version++;
    out.listed.push(device);
  }

  nextDeadline(): number | undefined {
    return undefined;
  }

  list(): DiscoveredDevice[] {
    return sortDevices([...this.devices.values()]);
  }

  statusOf(id: string): DeviceStatus | undefined {
    return this.devices.has(id) ? "online" : undefined;
  }

  brokerOf(id: string): string | undefined {
    return this.devices.has(id) ? this.brokerUri : undefined;
  }

  factsOf(): undefined {
    return undefined;
  }

  unlisted(): UnlistedEntity[] {
    return [];
  }
}

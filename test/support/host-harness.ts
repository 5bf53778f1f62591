import { Subject } from "rxjs";
import type { MqttMessage } from "../../src/mqtt/message.js";
import type { EdgePublish } from "../../src/sparkplug/edge-node-encoder.js";
import type { HostCommand, HostEvent } from "../../src/sparkplug/host/events.js";
import { type HostInput, HostSession } from "../../src/sparkplug/host/host-session.js";
import type { EntityStatus } from "../../src/sparkplug/host/model.js";
import { type HostProfile, type HostSettings, hostOptions } from "../../src/sparkplug/host/options.js";
import type { HostStep } from "../../src/sparkplug/host/step.js";
import { seededRandom } from "../../src/streams/seeded-random.js";
import { runReducer, VirtualClock } from "../../src/streams/timed-reducer.js";

/**
 * The two paths a discovery host's DATA can take: the quiet lane (discovery's profile, its
 * values not decoded: what production runs) and the full decode (the same profile with every
 * payload decoded, so no DATA takes the lane). Behaviour tests run on both, by name.
 */
export const HOST_PATHS = ["quiet-lane", "full-decode"] as const;
export type HostPath = (typeof HOST_PATHS)[number];

/** The profile (discovery unless said), its settings, and for discovery the path its DATA takes. */
type Overrides = HostSettings & { profile?: HostProfile; path?: HostPath };

/**
 * Drives a HostSession on virtual time: every input is applied at `now`, and timers fire
 * exactly when due as time advances. Collects every event and command.
 */
export class HostHarness {
  readonly session: HostSession;
  readonly events: HostEvent[] = [];
  readonly commands: HostCommand[] = [];
  private readonly clock: VirtualClock;
  private readonly inputs$ = new Subject<HostInput>();
  private readonly steps: HostStep[] = [];

  constructor({ profile, path, ...overrides }: Overrides = {}, start = Date.UTC(2026, 0, 5, 10), seed = 7) {
    const options = hostOptions(profile ?? "discovery", {
      hostId: "test-host",
      ...overrides,
      rebirth: { jitterMs: 0, ...overrides.rebirth },
    });
    // Decoding every value is what turns the quiet lane off (host-session.ts).
    const decode = path === "full-decode" ? { decodeDataValues: true } : {};
    this.session = new HostSession({ ...options, ...decode }, seededRandom(seed));
    this.clock = new VirtualClock(start);
    runReducer(this.session, this.inputs$, { kind: "tick" } as HostInput, this.clock.scheduler).subscribe(
      (step) => {
        this.events.push(...step.events);
        this.commands.push(...step.commands);
        this.steps.push(step);
      },
    );
  }

  get now(): number {
    return this.clock.now;
  }

  /** Moves time to `until`, firing every timer due on the way. */
  advanceTo(until: number): HostStep[] {
    const before = this.steps.length;
    this.clock.advanceTo(Math.max(this.now, until));
    return this.steps.slice(before);
  }

  advance(ms: number): HostStep[] {
    return this.advanceTo(this.now + ms);
  }

  /** Delivers a message `after` ms from now (timers due before it fire first). */
  deliver(message: Omit<MqttMessage, "at"> & { at?: number }, after = 10): HostStep {
    this.advanceTo(message.at ?? this.now + after);
    return this.input({ kind: "message", message: { ...message, at: this.now } });
  }

  /** Delivers an edge publish built by EdgeNodeEncoder. */
  publish(publish: EdgePublish, options: { after?: number; retain?: boolean } = {}): HostStep {
    return this.deliver({ ...publish, retain: options.retain ?? false }, options.after ?? 10);
  }

  /** Applies an input now; its step. */
  input(input: HostInput): HostStep {
    this.inputs$.next(input);
    return this.steps.at(-1)!;
  }

  nodeStatus(group: string, edge: string): EntityStatus | undefined {
    return this.session.node(group, edge)?.status;
  }

  deviceStatus(group: string, edge: string, device: string): EntityStatus | undefined {
    return this.session.node(group, edge)?.devices.get(device)?.status;
  }

  eventsOf<K extends HostEvent["kind"]>(kind: K): Extract<HostEvent, { kind: K }>[] {
    return this.events.filter((e): e is Extract<HostEvent, { kind: K }> => e.kind === kind);
  }

  rebirthCommands(): HostCommand[] {
    return this.commands.filter((c) => c.purpose === "rebirth");
  }

  clear(): void {
    this.events.length = 0;
    this.commands.length = 0;
  }
}

import type { BirthSource } from "./model.js";

/** Where an event happened in the Sparkplug namespace. */
export interface Scope {
  group: string;
  edge: string;
  device?: string;
}

export type RebirthReason =
  | "unknown-node"
  | "seq-gap"
  | "unknown-metric"
  | "duplicate-alias"
  | "unproven-birth"
  | "stale-after-reconnect";

/** What the host session reports; the rest of the system (inventory, metrics, inspect) consumes these. */
export type HostEvent =
  | (Scope & { kind: "node-born"; bdSeq: string | undefined; reborn: boolean; source: BirthSource })
  | (Scope & { kind: "node-died"; reason: "ndeath" | "silent-after-reconnect"; at: number })
  | (Scope & { kind: "device-born"; device: string; source: BirthSource })
  | (Scope & {
      kind: "device-died";
      device: string;
      reason: "ddeath" | "node-died" | "not-reborn";
      at: number;
    })
  | (Scope & {
      kind: "stale-death-ignored";
      bdSeq: string | undefined;
      sessionBdSeq: string | undefined;
      reason: string;
    })
  | (Scope & { kind: "seq-gap"; expected: number; received: number })
  | (Scope & { kind: "reorder-healed"; seq: number; waitedMs: number })
  | (Scope & { kind: "reorder-expired"; missing: number[] })
  | (Scope & { kind: "seq-duplicate"; seq: number })
  | (Scope & { kind: "rebirth-requested"; reason: RebirthReason })
  | (Scope & { kind: "rebirth-observed"; by: "other-host" })
  | (Scope & { kind: "unknown-metric"; alias: string | undefined; name: string | undefined })
  | (Scope & { kind: "duplicate-alias"; alias: string })
  | (Scope & { kind: "data-before-birth"; verb: string })
  | (Scope & { kind: "node-stale" })
  | { kind: "decode-error"; topic: string; message: string; offset: number | undefined }
  | { kind: "not-sparkplug"; topic: string; reason: string }
  | { kind: "retained-message"; topic: string }
  | { kind: "protocol-warning"; topic: string; message: string }
  | {
      kind: "host-state";
      hostId: string;
      version: "3.0" | "2.2";
      online: boolean;
      timestamp: number | undefined;
    }
  | { kind: "host-state-ignored"; hostId: string; reason: string }
  | { kind: "broker-lost"; broker: string }
  | { kind: "broker-online"; broker: string };

export type HostEventKind = HostEvent["kind"];

/** Something the host must publish: rebirth NCMDs and its own STATE. */
export interface PublishCommand {
  kind: "publish";
  purpose: "rebirth" | "state-birth" | "state-death";
  topic: string;
  payload: Uint8Array;
  qos: 0 | 1;
  retain: boolean;
  /** For a rebirth: the node asked. */
  scope?: Scope;
  /** For STATE: the broker to publish on (each broker gets its own birth). */
  broker?: string;
}

export type HostCommand = PublishCommand;

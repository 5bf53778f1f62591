import type { Observable } from "rxjs";
import type { InventoryAccess } from "./details.js";
import type { DiscoveredDevice } from "./device.js";
import type { DeviceListEmission } from "./engine.js";
import type { ReportEntry } from "./report.js";

/*
 * A discovery as its consumers (the Akri gRPC layer, the CLI) see it: asked for with a
 * Configuration's raw discoveryDetails and discoveryProperties, refused at once with a reason
 * naming the key when they are invalid, and otherwise a stream of device lists and reports.
 */

/** What Akri's Discover call carries. */
export interface DiscoveryRequest {
  /** The discoveryDetails YAML (or JSON). */
  details: string;
  /** The discoveryProperties, resolved by the agent (absent value: unset). */
  properties: Record<string, Uint8Array | undefined>;
}

/** What a discovery yields: lists to send, devices the next lists will hold, and a report of what happened. */
export interface DiscoveryOutput {
  emissions: readonly DeviceListEmission[];
  listed: readonly DiscoveredDevice[];
  report: readonly ReportEntry[];
}

export type PreparedDiscovery =
  | { ok: false; error: string }
  | {
      ok: true;
      /** Unknown keys and other things worth a warning. */
      warnings: string[];
      /** For logs and /devices. */
      about: {
        mode: string;
        configurationName: string | undefined;
        /** Whether clients off the handler pod's loopback may read this stream's inventory. */
        inventoryAccess: InventoryAccess;
        /**
         * Each broker (its serverUrls, comma-joined), whether it is connected now, and what
         * keeps it from working until it changes (a broker that rejects our topics), if anything.
         */
        brokers: () => readonly { uri: string; connected: boolean; problem?: string }[];
      };
      /** Runs the discovery while subscribed. */
      outputs$: Observable<DiscoveryOutput>;
      /**
       * The consumer's word that its last list took `ms` to deliver (from being made to being
       * written out): lists close their window that much earlier, so that a change reaches the
       * consumer within the window and not a list's writing time later.
       */
      delivered(ms: number): void;
    };

export type DiscoveryFactory = (request: DiscoveryRequest) => PreparedDiscovery;

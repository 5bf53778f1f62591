import type { BrokerDetails } from "./details.js";

/*
 * The broker properties of a Configuration's devices (design.md §5). They come from the
 * Configuration alone, never from where a device is now: a listed device's properties must
 * be the same on every node and never change while it is listed, because every node's agent
 * applies the shared Instance with server-side apply and no force, and any change of a
 * co-owned field is a 409 that stops that node's reconcile (reference/akri.md §3).
 */

/** The names of the broker properties, which every mode sets and no property mapping may use. */
export const BROKER_PROPERTY_NAMES = ["MQTT_BROKER_URI", "MQTT_BROKER_URIS", "MQTT_BROKER_NAMES"] as const;

export interface BrokerProperties {
  /** MQTT_BROKER_URI: the serverUrls, comma-joined; with `brokers`, the first broker's. */
  uri: string;
  /** With several brokers only: what lists them all. */
  several:
    | {
        /** MQTT_BROKER_URIS: every broker, space-separated, each comma-joined. */
        uris: string;
        /**
         * MQTT_BROKER_NAMES: their names in the same order, upper-case (a broker without a
         * name is its position), so a workload finds each broker's own secrets
         * (MQTT_PASSWORD_<NAME>) by name, as the handler does.
         */
        names: string;
      }
    | undefined;
}

export function brokerProperties(brokers: readonly BrokerDetails[]): BrokerProperties {
  return {
    uri: brokers[0]!.uri,
    several:
      brokers.length > 1
        ? {
            uris: brokers.map((b) => b.uri).join(" "),
            names: brokers.map((b, i) => b.name ?? String(i + 1)).join(" "),
          }
        : undefined,
  };
}

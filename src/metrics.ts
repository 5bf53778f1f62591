import { Counter, Gauge, type Registry } from "prom-client";

/*
 * Prometheus metrics are made with one prefix in a registry the command owns; each layer
 * (connections, discovery, the Akri stream) registers and counts its own.
 */

export interface MetricFactory {
  counter(name: string, help: string, labelNames?: string[]): Counter;
  /** `collect`, when given, sets the gauge's values at each scrape. */
  gauge(name: string, help: string, labelNames?: string[], collect?: (gauge: Gauge) => void): Gauge;
}

/** Makes counters and gauges named `<prefix><name>` in `registry`. */
export function metricFactory(registry: Registry, prefix = "akri_mqtt_"): MetricFactory {
  const registers = [registry];
  return {
    counter: (name, help, labelNames = []) =>
      new Counter({ name: `${prefix}${name}`, help, labelNames, registers }),
    gauge: (name, help, labelNames = [], collect) =>
      new Gauge({
        name: `${prefix}${name}`,
        help,
        labelNames,
        registers,
        ...(collect
          ? {
              collect(this: Gauge) {
                collect(this);
              },
            }
          : {}),
      }),
  };
}

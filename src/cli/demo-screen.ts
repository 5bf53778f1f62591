import type { DeviceListEmission } from "../discovery/engine.js";
import { redrawDeviceTable } from "./device-table.js";

/*
 * What `akri-mqtt demo` shows. On a terminal: its title (the fleet page, how many devices are
 * listed, the broker) on top, the table cut to fit under it, and the latest plant events at the
 * bottom, redrawn in place. Piped to a file or another program: a log instead, the title once,
 * then a line for each plant event and for each list whose count changed (a table per list
 * would be hundreds of lines a second).
 */

const RECENT_EVENTS = 5;

export interface DemoScreenOptions {
  /** The title's first part: what the demo is and where its fleet page is. */
  title: string;
  /** The second line: where its broker(s) and Akri API are. */
  endpoints: string;
  configuration: string;
  /** How many devices the plant has: the count's "of". */
  devices: number;
  /** The demo's clock for stamps (sped up with AKRI_MQTT_DEMO_SPEED), as "+m:ss" since it started. */
  stamp: () => string;
}

export class DemoScreen {
  private last: DeviceListEmission | undefined;
  private lists = 0;
  private lastCount: number | undefined;
  private readonly recent: string[] = [];
  private titled = false;

  constructor(
    private readonly options: DemoScreenOptions,
    private readonly out: NodeJS.WriteStream = process.stdout,
  ) {}

  /** A new device list from the demo's discovery. */
  list(emission: DeviceListEmission): void {
    this.lists++;
    this.last = emission;
    if (this.out.isTTY) {
      this.redraw();
      return;
    }
    this.title();
    if (emission.devices.length === this.lastCount) return;
    this.lastCount = emission.devices.length;
    this.out.write(`${this.options.stamp()} list ${this.lists}: ${this.counts(emission)}\n`);
  }

  /** Something the plant did. */
  event(text: string): void {
    const line = `${this.options.stamp()} ${text}`;
    if (!this.out.isTTY) {
      this.title();
      this.out.write(`${line}\n`);
      return;
    }
    this.recent.push(line);
    if (this.recent.length > RECENT_EVENTS) this.recent.shift();
    this.redraw();
  }

  private counts(emission: DeviceListEmission): string {
    const byStatus = new Map<string, number>();
    for (const device of emission.devices) {
      const status = emission.statusOf(device.id) ?? "offline";
      if (status !== "online") byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
    }
    const others = [...byStatus].map(([status, n]) => `${n} ${status}`).join(", ");
    return `${emission.devices.length} of ${this.options.devices} devices listed${others ? ` (${others})` : ""}`;
  }

  private title(): void {
    if (this.titled) return;
    this.titled = true;
    this.out.write(`${this.options.title}\n${this.options.endpoints}\n`);
  }

  private redraw(): void {
    const list = this.last;
    if (!list) return;
    const header = [
      `${this.options.title} · ${this.counts(list)} · list ${this.lists}`,
      this.options.endpoints,
    ];
    const footer = ["", "recent plant events (Ctrl-C to stop):", ...this.recent.map((e) => `  ${e}`)];
    redrawDeviceTable(this.out, list, this.options.configuration, header, footer);
  }
}

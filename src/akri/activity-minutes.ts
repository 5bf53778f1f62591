/*
 * Births, deaths and rebirth requests per minute over the last hour, per Discover stream: the
 * fleet page's chart. The feed keeps only its last 200 events (a plant's start is thousands of
 * births), so these are counted as the report goes by, in a ring of 60 one-minute buckets
 * (wall-clock minutes: the page labels them with the time of day).
 */

const MINUTE_MS = 60_000;
const MINUTES = 60;

/** Which report kinds the chart counts, in which series (Sparkplug's, and the generic mode's). */
const SERIES: Readonly<Record<string, "births" | "deaths" | "rebirths">> = {
  "node-born": "births",
  "device-born": "births",
  "device-appeared": "births",
  "node-died": "deaths",
  "device-died": "deaths",
  "device-idle": "deaths",
  "rebirth-requested": "rebirths",
};

/** The last hour of one stream, oldest minute first; `from` is the oldest minute's start. */
export interface MinuteCounts {
  from: string;
  minuteMs: number;
  births: number[];
  deaths: number[];
  rebirths: number[];
}

class MinuteRing {
  /** Per bucket: the minute (since the epoch) it counts, and its three counts. */
  private readonly minute = new Float64Array(MINUTES).fill(-1);
  private readonly counts = {
    births: new Uint32Array(MINUTES),
    deaths: new Uint32Array(MINUTES),
    rebirths: new Uint32Array(MINUTES),
  };

  add(series: keyof MinuteRing["counts"], at: number): void {
    const minute = Math.floor(at / MINUTE_MS);
    const i = minute % MINUTES;
    if (this.minute[i] !== minute) {
      // A bucket from an hour (or more) ago: reused for this minute.
      this.minute[i] = minute;
      for (const counts of Object.values(this.counts)) counts[i] = 0;
    }
    this.counts[series][i]!++;
  }

  read(now: number): MinuteCounts {
    const last = Math.floor(now / MINUTE_MS);
    const out: MinuteCounts = {
      from: new Date((last - MINUTES + 1) * MINUTE_MS).toISOString(),
      minuteMs: MINUTE_MS,
      births: [],
      deaths: [],
      rebirths: [],
    };
    for (let minute = last - MINUTES + 1; minute <= last; minute++) {
      const i = minute % MINUTES;
      const current = this.minute[i] === minute;
      out.births.push(current ? this.counts.births[i]! : 0);
      out.deaths.push(current ? this.counts.deaths[i]! : 0);
      out.rebirths.push(current ? this.counts.rebirths[i]! : 0);
    }
    return out;
  }
}

export class ActivityMinutes {
  private readonly rings = new Map<number, MinuteRing>();

  /** Counts one report entry of `stream` if its kind is a birth, a death or a rebirth request. */
  count(stream: number, kind: string, at: number): void {
    const series = SERIES[kind];
    if (series === undefined) return;
    let ring = this.rings.get(stream);
    if (!ring) {
      ring = new MinuteRing();
      this.rings.set(stream, ring);
    }
    ring.add(series, at);
  }

  /** The last hour up to `now` of every stream that has counted something and `visible` lets through. */
  read(visible: (stream: number) => boolean, now = Date.now()): ({ stream: number } & MinuteCounts)[] {
    return [...this.rings]
      .filter(([stream]) => visible(stream))
      .map(([stream, ring]) => ({ stream, ...ring.read(now) }));
  }

  /** A closed stream's counts are let go (an agent that reconnects opens new streams). */
  forget(stream: number): void {
    this.rings.delete(stream);
  }
}

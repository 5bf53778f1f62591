import { log } from "../log.js";

/*
 * Two connections with one client id throw each other off: the broker closes the older one
 * each time the other connects. With MQTT 5 a takeover may say so (DISCONNECT 0x8E); with
 * MQTT 3.1.1, or a broker such as Mosquitto 2.0, the session just ends soon after CONNACK,
 * and only a run of such sessions shows it. One clear error per run, and a backoff that grows
 * with the run, instead of a silent ping-pong.
 */

/** MQTT 5 DISCONNECT reason: another connection took over our client id's session. */
const SESSION_TAKEN_OVER = 0x8e;

/**
 * A session the broker ends, without an error or a reason, sooner than this after CONNACK was
 * cut short. Longer than the longest backoff, so that two connections with one client id that
 * both back off still count as throwing each other off.
 */
const SHORT_SESSION_MS = 60_000;

/** Sessions cut short in a row, with no DISCONNECT saying why, before we suspect a shared id. */
const SUSPECT_SHARED_ID_AFTER = 3;

export class TakeoverWatch {
  /** Sessions in a row that the broker ended soon after CONNACK. */
  private cutShort = 0;
  /** Whether the error was logged for the current run. */
  private reportedRun = false;
  private steady: NodeJS.Timeout | undefined;

  constructor(private readonly clientId: string) {}

  /** Sessions cut short in a row (the backoff step after an ended session). */
  get run(): number {
    return this.cutShort;
  }

  /** Whether the current run was reported (later reconnects log at debug only). */
  get reported(): boolean {
    return this.reportedRun;
  }

  /** A session began: if it holds for a while, the run is over. */
  connected(broker: string, isCurrent: () => boolean): void {
    clearTimeout(this.steady);
    this.steady = setTimeout(() => {
      if (!isCurrent()) return;
      if (this.reportedRun)
        log.info(
          { broker, clientId: this.clientId },
          "the connection has held for a minute: the other client with our client id is gone",
        );
      this.reset();
    }, SHORT_SESSION_MS);
    this.steady.unref();
  }

  /** A connection attempt failed outright: that is no takeover. */
  failed(): void {
    this.reset();
  }

  /**
   * A session ended; returns the error to log, once per run of takeovers. `disconnect` is the
   * MQTT 5 DISCONNECT reason, `error` whatever else the client reported.
   */
  ended(connectedAt: number, disconnect: number | undefined, error: string | undefined): string | undefined {
    clearTimeout(this.steady);
    const takenOver = disconnect === SESSION_TAKEN_OVER;
    const quietEnd = disconnect === undefined && error === undefined;
    if (!takenOver && !(quietEnd && Date.now() - connectedAt < SHORT_SESSION_MS)) {
      this.reset();
      return undefined;
    }
    this.cutShort++;
    if (this.reportedRun || (!takenOver && this.cutShort < SUSPECT_SHARED_ID_AFTER)) return undefined;
    this.reportedRun = true;
    return takenOver
      ? `another connection took over our session: the broker let a second client connect with our client id "${this.clientId}" and disconnected us (MQTT 5 reason 0x8E, Session taken over)`
      : `the broker closed our connection right after accepting it, ${this.cutShort} times in a row: another client probably connects with our client id "${this.clientId}" (a broker drops the older of two connections with one client id, and with MQTT 3.1.1, or a broker such as Mosquitto 2.0, without saying why)`;
  }

  stop(): void {
    clearTimeout(this.steady);
  }

  private reset(): void {
    this.cutShort = 0;
    this.reportedRun = false;
  }
}

/*
 * What happened during discovery, in one neutral shape for every mode: a kind, how much it
 * matters, what it concerns, its details, and a line for people. Each mode makes its entries
 * in one place (its report.ts); logs, metrics and pages read them without knowing the mode,
 * so a new kind of event touches its producer and only the consumers that care about it.
 */

/** How much an entry matters: its log level. */
export type Severity = "debug" | "info" | "warn";

export interface ReportEntry {
  /** What happened: node-born, seq-gap, payload-too-large, device-appeared, … */
  readonly kind: string;
  readonly severity: Severity;
  /** A problem in the traffic (counted by kind), rather than a lifecycle change. */
  readonly problem: boolean;
  /** What it concerns: an Akri device id, or a topic. */
  readonly subject: string | undefined;
  /** Its details, as log fields and metric labels. */
  readonly fields: Readonly<Record<string, unknown>>;
  /** One line for people (made only when read). */
  readonly message: string;
}

/** An entry whose message is made only when read (most entries are only counted). */
export function reportEntry(
  kind: string,
  severity: Severity,
  problem: boolean,
  subject: string | undefined,
  fields: Readonly<Record<string, unknown>>,
  describe: () => string,
): ReportEntry {
  let message: string | undefined;
  return {
    kind,
    severity,
    problem,
    subject,
    fields,
    get message() {
      message ??= describe();
      return message;
    },
  };
}

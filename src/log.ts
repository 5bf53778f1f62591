import { pino } from "pino";

/**
 * Structured JSON logs on stderr (stdout carries data), one event per line, with the
 * topic / node / device concerned as fields. LOG_LEVEL sets the level.
 */
export const log = pino(
  {
    level: process.env.LOG_LEVEL ?? "info",
    base: { service: "akri-mqtt" },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ["password", "*.password", "credentials", "*.credentials", "key", "*.key"],
      censor: "[redacted]",
    },
  },
  pino.destination({ dest: 2, sync: true }),
);

export type Logger = typeof log;

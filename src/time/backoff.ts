/** How retries wait: exponentially longer, up to a cap. */
export interface Backoff {
  initialMs: number;
  maxMs: number;
}

/**
 * The wait before retry number `attempt` (1 for the first): initialMs doubled per attempt up
 * to maxMs, then spread over 50 %–150 % so that many clients retrying at once drift apart.
 */
export function backoffDelay(attempt: number, backoff: Backoff, random: () => number = Math.random): number {
  const base = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.5 + random()));
}

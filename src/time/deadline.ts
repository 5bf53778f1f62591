/**
 * The earlier of two optional times (undefined: no deadline). Timers across the host,
 * the inventories and the rebirth policy keep their next deadline with it.
 */
export function earlier(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  return b === undefined || a <= b ? a : b;
}

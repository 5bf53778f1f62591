import { isIP } from "node:net";

/*
 * Which names a request to one of our HTTP servers may be addressed to. A page that an
 * attacker's DNS name serves can re-point that name at 127.0.0.1 (DNS rebinding) and so reach
 * a `kubectl port-forward` or a pod's own port from the victim's browser; its requests still
 * carry the attacker's name in Host. Only names such a page cannot own are accepted.
 */

/**
 * Whether a request addressed to `hostHeader` can come from a legitimate client: an IP
 * address, localhost or a name under .localhost (browsers resolve those to loopback
 * themselves), a cluster name (a Service in the same namespace, service.namespace.svc,
 * ….cluster.local) or one of the `allowed` names (lower-case).
 */
export function hostAllowed(hostHeader: string | undefined, allowed: readonly string[] = []): boolean {
  if (!hostHeader) return false;
  const host = hostHeader
    .toLowerCase()
    .replace(/:\d+$/, "")
    .replace(/^\[(.*)\]$/, "$1");
  if (isIP(host) !== 0 || host === "localhost" || host.endsWith(".localhost")) return true;
  if (allowed.includes(host)) return true;
  if (!host.includes(".")) return true; // a Service in the same namespace
  return /\.svc$|\.svc\.cluster\.local$|\.cluster\.local$/.test(host);
}

/** A comma-separated list of host names (a flag or an environment variable), lower-case. */
export function hostList(text: string | undefined): string[] {
  return (text ?? "")
    .split(",")
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== "");
}

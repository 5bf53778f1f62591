import { isIPv4 } from "node:net";

/**
 * Whether a connection comes from this network namespace's own loopback (127.0.0.0/8, ::1, or
 * 127.x as an IPv4-mapped IPv6 address): in a pod, only the pod itself, and `kubectl
 * port-forward`, which connects from inside the pod's network namespace.
 */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.toLowerCase().startsWith("::ffff:") ? address.slice(7) : address;
  if (isIPv4(v4)) return v4.startsWith("127.");
  return address === "::1";
}

/*
 * What `serve` needs only once it has registered (or a Discover call came): the discovery
 * modes with their schemas and YAML parser, the MQTT client and the live pipeline. Most of
 * serve's code by size; loaded after the registration went out, not on the way to it
 * (bench/startup.ts).
 */
export { pageModes } from "../discovery/modes/modes.js";
export { ConnectionPool } from "../mqtt/connection-pool.js";
export { prepareLiveDiscovery } from "../streams/live-discovery.js";

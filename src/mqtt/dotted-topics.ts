/*
 * Brokers that reject every topic containing "." (NATS's MQTT, where "." separates subject
 * tokens): a CONNECT whose Will topic has one gets no CONNACK, a SUBSCRIBE to one is refused,
 * a PUBLISH to one closes the connection. Every Sparkplug topic starts with spBv1.0/, so
 * Sparkplug cannot work on such a broker at all and retrying changes nothing: the user is
 * told once, in words that name the cause rather than "is this an MQTT listener?".
 */

/** How often a connection whose every URL rejects its Will topic tries again (quietly): the broker may be replaced. */
export const REJECTED_RETRY_MS = 300_000;

export function hasDot(topic: string): boolean {
  return topic.includes(".");
}

const CAUSE =
  "this broker rejects topics containing '.', such as Sparkplug's spBv1.0/… (NATS's MQTT does: '.' separates its subjects), so Sparkplug cannot work on it: use generic discovery, with topics without '.', or another broker";

/** Why the broker hung up on a CONNECT it would otherwise answer: the Will topic's '.'. */
export function willTopicRejected(willTopic: string): string {
  return `the broker answered our MQTT 5 CONNECT (refusing the version) but hung up without a CONNACK on the MQTT 3.1.1 one, whose Will topic ${willTopic} contains '.': ${CAUSE}`;
}

/** Why the broker refused subscriptions whose filters have a '.' (or an ACL did: SUBACK does not say). */
export function filtersRejected(filters: readonly string[]): string {
  return `the broker refused the subscriptions ${filters.join(", ")}, which contain '.': ${CAUSE} (or an ACL refuses them)`;
}

/** The hint for a hang-up without a CONNACK when our Will topic has a '.' (with no CONNACK before, we cannot tell more). */
export function dottedWillHint(willTopic: string): string {
  return `; NATS's MQTT also hangs up like this on a Will topic containing '.', as ours (${willTopic}) does, and cannot carry Sparkplug`;
}

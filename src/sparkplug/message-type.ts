import { CERTIFICATES_PREFIX, NAMESPACE, verbKind } from "./topic.js";

/** The Sparkplug message type of a topic, cheaply: NBIRTH, DDATA, STATE, …, or "other". */
export function messageType(topic: string): string {
  if (topic.startsWith(`${NAMESPACE}/`)) {
    const verb = topic.split("/", 3)[2];
    if (verb === undefined) return "other";
    if (topic.startsWith(`${NAMESPACE}/STATE/`) && topic.split("/").length === 3) return "STATE";
    return verbKind(verb) === undefined ? "other" : verb;
  }
  if (topic.startsWith("STATE/")) return "STATE";
  if (topic.startsWith(CERTIFICATES_PREFIX)) return "CERTIFICATE";
  return "other";
}

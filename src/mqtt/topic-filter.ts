/** A compiled topic filter: "prefix/#" filters (the common case) become a prefix test. */
export function topicMatcher(filter: string): (topic: string) => boolean {
  if (
    filter.endsWith("/#") &&
    !filter.includes("+") &&
    !filter.slice(0, -2).includes("#") &&
    !filter.startsWith("$")
  ) {
    const prefix = filter.slice(0, -1); // keep the "/"
    const exact = filter.slice(0, -2);
    return (topic) => topic.startsWith(prefix) || topic === exact;
  }
  return (topic) => topicMatches(filter, topic);
}

/** MQTT topic filter matching (3.1.1 §4.7): "+" one level, "#" the rest; wildcards at the start skip "$" topics. */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith("$") && (filter.startsWith("+") || filter.startsWith("#"))) return false;
  const f = filter.split("/");
  const t = topic.split("/");
  for (let i = 0; i < f.length; i++) {
    const level = f[i]!;
    if (level === "#") return true;
    if (i >= t.length) return false;
    if (level !== "+" && level !== t[i]) return false;
  }
  return f.length === t.length;
}

/** Why `filter` is not a valid MQTT topic filter, or undefined. */
export function topicFilterProblem(filter: string): string | undefined {
  if (filter === "") return "expected an MQTT topic filter, got an empty string";
  const levels = filter.split("/");
  for (const [i, level] of levels.entries()) {
    if (level.includes("#") && (level !== "#" || i !== levels.length - 1)) {
      return `"#" must be a whole level and the last one, in ${JSON.stringify(filter)}`;
    }
    if (level.includes("+") && level !== "+")
      return `"+" must be a whole level, in ${JSON.stringify(filter)}`;
  }
  return undefined;
}

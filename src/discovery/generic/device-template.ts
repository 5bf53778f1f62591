/*
 * Generic-mode device ids from topic templates (design.md §4 `deviceId`): levels are
 * literals, "+" (any level), "#" (the rest), or {name} placeholders that capture a level.
 *   template robots/{robot}/joints, topic robots/r1/joints → id "r1", topic filter robots/r1/joints
 * Without placeholders, or without a template, the topic itself is the device.
 */

interface TemplateMatch {
  /** The captured levels joined with "/" (the device id). */
  id: string;
  /** The template with its placeholders filled in: the filter that covers this device's topics. */
  filter: string;
}

export type DeviceTemplate = (topic: string) => TemplateMatch | undefined;

/** Compiles a template validated by deviceIdTemplateProblem (details.ts). */
export function compileDeviceTemplate(template: string): DeviceTemplate {
  const levels = template.split("/");
  const placeholders = levels.filter((l) => l.startsWith("{")).length;
  return (topic) => {
    const parts = topic.split("/");
    const captured: string[] = [];
    const filter: string[] = [];
    for (let i = 0; i < levels.length; i++) {
      const level = levels[i]!;
      if (level === "#") {
        filter.push("#");
        return finish();
      }
      const part = parts[i];
      if (part === undefined) return undefined;
      if (level === "+") {
        filter.push("+");
      } else if (level.startsWith("{")) {
        if (part === "") return undefined;
        captured.push(part);
        filter.push(part);
      } else if (level !== part) {
        return undefined;
      } else {
        filter.push(level);
      }
    }
    if (parts.length !== levels.length) return undefined;
    return finish();

    function finish(): TemplateMatch {
      const joined = filter.join("/");
      return { id: placeholders > 0 ? captured.join("/") : joined, filter: joined };
    }
  };
}

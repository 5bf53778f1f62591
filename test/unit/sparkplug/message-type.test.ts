import { describe, expect, it } from "vitest";
import { messageType } from "../../../src/sparkplug/message-type.js";

describe("message types for /metrics", () => {
  it.each([
    ["spBv1.0/g/NBIRTH/e", "NBIRTH"],
    ["spBv1.0/g/DDATA/e/d", "DDATA"],
    ["spBv1.0/STATE/host", "STATE"],
    ["STATE/host", "STATE"],
    ["$sparkplug/certificates/spBv1.0/g/NBIRTH/e", "CERTIFICATE"],
    ["spBv1.0/g/NMETA/e", "other"],
    ["robots/r1/joints", "other"],
  ])("%s is %s", (topic, type) => {
    expect(messageType(topic)).toBe(type);
  });
});

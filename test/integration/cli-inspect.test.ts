import { describe, expect, it } from "vitest";
import { jsonLines, runCli } from "../support/cli.js";

type Line = Record<string, unknown> & {
  type?: string | null;
  topic?: string;
  metrics?: Record<string, unknown>[];
  events?: { kind: string; [k: string]: unknown }[];
  problems?: { kind: string; message: string; [k: string]: unknown }[];
  event?: { kind: string; [k: string]: unknown };
};

async function inspect(fixture: string): Promise<Line[]> {
  const result = await runCli(["inspect", `test/fixtures/${fixture}`]);
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  return jsonLines(result.stdout) as Line[];
}

const kinds = (line: Line | undefined) => [
  ...(line?.events ?? []).map((e) => e.kind),
  ...(line?.problems ?? []).map((p) => p.kind),
  ...(line?.event ? [line.event.kind] : []),
];
const allKinds = (lines: Line[]) => lines.flatMap(kinds);

describe("akri-mqtt inspect flags each protocol quirk", () => {
  it("a stale NDEATH arriving after the next NBIRTH is ignored; the matching one kills the node", async () => {
    const lines = await inspect("stale-ndeath.jsonl");
    const deaths = lines.filter((l) => l.type === "NDEATH");
    expect(kinds(deaths[0])).toStrictEqual(["stale-death-ignored"]);
    expect(deaths[0]?.problems?.[0]?.message).toContain(
      "bdSeq 1 belongs to another session (current session: 2)",
    );
    expect(deaths[0]?.bdSeq).toBe("1");
    expect(kinds(deaths[1])).toStrictEqual(["node-died", "device-died"]);
  });

  it("an NDEATH without bdSeq", async () => {
    const lines = await inspect("ndeath-without-bdseq.jsonl");
    const death = lines.find((l) => l.type === "NDEATH");
    expect(kinds(death)).toContain("protocol-warning");
    expect(death?.problems?.[0]?.message).toContain("NDEATH has no bdSeq metric");
  });

  it("seq wrapping 255 → 0 is fine, a gap that heals is noted, one that does not asks for a rebirth", async () => {
    const lines = await inspect("seq-wrap-and-gaps.jsonl");
    const wrap = lines.filter((l) => l.type === "NDATA").slice(0, 7);
    expect(wrap.map((l) => l.seq)).toStrictEqual([251, 252, 253, 254, 255, 0, 1]);
    expect(allKinds(wrap)).toStrictEqual([]);
    const events = lines.filter((l) => l.event).map((l) => l.event!);
    expect(events.map((e) => e.kind)).toStrictEqual([
      "seq-gap",
      "reorder-healed",
      "seq-gap",
      "reorder-expired",
      "rebirth-requested",
    ]);
    expect(events[0]).toMatchObject({ expected: 3, received: 4 });
    expect(events[3]).toMatchObject({ missing: [6] });
    expect(events[4]).toMatchObject({ reason: "seq-gap", group: "G", edge: "E" });
    expect(lines.find((l) => l.seq === 4)?.heldMs).toBe(300);
  });

  it("alias-only DATA decodes through the birth, signed integers either way; an unknown alias is flagged", async () => {
    const lines = await inspect("alias-only-data.jsonl");
    const data = lines.filter((l) => l.type === "NDATA");
    expect(data[0]?.metrics?.map((m) => [m.name, m.datatype, m.value])).toStrictEqual([
      ["Int8 value", "Int8", -1],
      ["Int8 value", "Int8", -1],
      ["Int16 value", "Int16", -1],
      ["UInt32 value", "UInt32", 4000000000],
      ["Int64 value", "Int64", "-1"],
      ["Text", "String", "hello"],
      ["Limits", "Int32Array", [-1, 315338746]],
    ]);
    expect(kinds(data[0])).toStrictEqual([]);
    expect(kinds(data[1])).toContain("unknown-metric");
    expect(data[1]?.problems?.[0]?.message).toBe("metric alias 99 on G/E is not in its birth");
  });

  it("Tahu-style DATA (alias and datatype, no name, as Tahu's Python and C edge nodes send it) shows the birth's names", async () => {
    const lines = await inspect("tahu-style-data.jsonl");
    const data = lines.filter((l) => l.type === "NDATA" || l.type === "DDATA");
    expect(data.map((l) => l.metrics?.map((m) => [m.name, m.alias, m.datatype, m.value]))).toStrictEqual([
      [
        ["Supply Voltage", 1, "Double", 229.5],
        ["Offset", 2, "Int16", -1],
      ],
      [["Running", 3, "Boolean", true]],
    ]);
    expect(allKinds(data)).toStrictEqual([]);
  });

  it("DATA before any BIRTH asks for a rebirth, and the answer is accepted", async () => {
    const lines = await inspect("data-before-birth.jsonl");
    expect(kinds(lines[0])).toStrictEqual(["data-before-birth"]);
    expect(lines[1]).toMatchObject({ event: { kind: "rebirth-requested", reason: "unknown-node" } });
    expect(kinds(lines.find((l) => l.type === "NBIRTH"))).toStrictEqual(["node-born"]);
    expect(kinds(lines.at(-1))).toStrictEqual([]);
  });

  it("a DBIRTH ten minutes after its NBIRTH is accepted", async () => {
    const lines = await inspect("late-dbirth.jsonl");
    expect(kinds(lines.find((l) => l.type === "DBIRTH"))).toStrictEqual(["device-born"]);
    expect(lines.flatMap((l) => l.problems ?? [])).toStrictEqual([]);
  });

  it("template definitions in a DBIRTH and a partial, alias-only template instance in DATA", async () => {
    const lines = await inspect("template-in-dbirth.jsonl");
    const dbirth = lines.find((l) => l.type === "DBIRTH");
    expect(dbirth?.metrics?.[0]).toMatchObject({
      name: "_types_/Pump",
      datatype: "Template",
      value: { isDefinition: true },
    });
    const ddata = lines.find((l) => l.type === "DDATA");
    expect(ddata?.metrics?.[0]).toMatchObject({
      name: "Aux Motor",
      datatype: "Template",
      value: { templateRef: "_types_/Motor", metrics: [{ name: "RPM", datatype: "Int32", value: 950 }] },
    });
    expect(kinds(ddata)).toStrictEqual([]);
  });

  it("3.0 and 2.2 host STATE; a late offline older than the online is ignored", async () => {
    const lines = await inspect("host-state.jsonl");
    expect(lines.map((l) => [l.hostId, l.stateVersion, l.online ?? null, kinds(l)])).toStrictEqual([
      ["scada-primary", "3.0", true, ["host-state"]],
      ["ignition-legacy", "2.2", true, ["host-state"]],
      ["scada-primary", "3.0", false, ["host-state-ignored"]],
      ["scada-primary", "3.0", false, ["host-state"]],
      ["ignition-legacy", "2.2", false, ["host-state"]],
      ["broken", "3.0", null, ["protocol-warning"]],
      ["with-bdseq", "3.0", true, ["host-state"]],
    ]);
  });

  it("a retained NBIRTH is flagged and proves nothing until live traffic", async () => {
    const lines = await inspect("retained-nbirth.jsonl");
    expect(lines[0]).toMatchObject({ retained: true });
    expect(kinds(lines[0])).toStrictEqual(["retained-message"]);
    expect(lines[1]?.events?.[0]).toMatchObject({ kind: "node-born", source: "retained" });
  });

  function expectDecodeError(line: Line | undefined): void {
    const problem = line?.problems?.find((p) => p.kind === "decode-error");
    expect(problem?.topic).toBe(line?.topic);
    expect(problem?.offset).toEqual(expect.any(Number));
    expect(problem?.message).toMatch(/^malformed payload on spBv1\.0\/G\/\S+ at byte \d+: /);
  }

  it("random bytes as a payload are reported with topic and byte offset, and the run goes on", async () => {
    const lines = await inspect("random-bytes.jsonl");
    expectDecodeError(lines[1]);
    // The lost message leaves a seq gap: the next one waits for it, then a rebirth is due.
    const next = lines.find((l) => l.type === "NDATA" && l.seq === 2);
    expect(next?.metrics?.[0]).toMatchObject({ name: "Temperature", value: 1 });
    expect(allKinds(lines)).toContain("rebirth-requested");
  });

  it("truncated payloads are reported with topic and byte offset, and the run goes on", async () => {
    const lines = await inspect("truncated-payload.jsonl");
    expectDecodeError(lines[0]);
    expectDecodeError(lines[1]);
    expect(lines[0]?.problems?.[0]?.message).toContain("index out of range");
    expect(kinds(lines[2])).toStrictEqual(["node-born"]);
  });

  it("topics outside the namespace, or malformed, say why", async () => {
    const lines = await inspect("bad-topics.jsonl");
    expect(lines.map((l) => l.problems?.[0]?.reason)).toStrictEqual([
      "expected spBv1.0/<group>/<verb>/<edge>[/<device>], found 3 levels",
      "DDATA is a device message and needs a device id level",
      "NDATA is a node message and takes no device id level",
      'unknown message type "NMETA"',
      "empty group id",
      "topic does not start with spBv1.0/ or STATE/",
    ]);
  });

  it("DEFLATE and GZIP compressed payloads are inflated", async () => {
    const lines = await inspect("compressed.jsonl");
    for (const line of lines) {
      expect(line.compressed).toBe(true);
      expect(line.metrics?.map((m) => m.name)).toStrictEqual([
        "Node Control/Rebirth",
        "Temperature",
        "bdSeq",
      ]);
    }
  });

  it("every datatype prints, 64-bit values as decimal strings", async () => {
    const [birth] = await inspect("all-datatypes.jsonl");
    const byName = new Map(birth?.metrics?.map((m) => [m.name, m]));
    expect(byName.get("Int64")?.value).toBe("-9223372036854775808");
    expect(byName.get("UInt64")?.value).toBe("18446744073709551615");
    expect(byName.get("UInt64Array")?.value).toStrictEqual(["52", "16444743074749521625"]);
    expect(byName.get("Bytes")?.value).toBe("AAEC/v8=");
    expect(byName.get("With properties")?.properties).toMatchObject({
      Quality: { type: "Int32", value: 192 },
    });
    expect(birth?.problems).toBeUndefined();
  });

  it("the Tahu recording: births, data, a device death, a Will and a graceful NDEATH", async () => {
    const lines = await inspect("tahu/session.jsonl");
    expect(lines.map((l) => `${l.type} ${kinds(l).join(",")}`)).toStrictEqual([
      "NBIRTH node-born",
      "DBIRTH device-born",
      "DBIRTH device-born",
      "DDATA ",
      "DDATA ",
      "NDATA ",
      "DDEATH device-died",
      "NBIRTH node-born",
      "DBIRTH device-born",
      "DDATA ",
      "NDEATH node-died,device-died",
      "NDEATH node-died,device-died",
    ]);
  });
});

describe("akri-mqtt inspect usage", () => {
  it("exits 2 naming the fixture it cannot read", async () => {
    const result = await runCli(["inspect", "test/fixtures/nope.jsonl"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe("akri-mqtt: FIXTURE test/fixtures/nope.jsonl cannot be read\n");
  });

  it("exits 2 without a fixture or broker", async () => {
    const result = await runCli(["inspect"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("give a FIXTURE file or --broker URL");
  });
});

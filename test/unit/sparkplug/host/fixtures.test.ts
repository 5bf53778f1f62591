import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadFixture } from "../../../../src/streams/fixture-file.js";
import { HOST_PATHS, HostHarness, type HostPath } from "../../../support/host-harness.js";

/*
 * The host session driven by the recorded Tahu traffic and by every quirk fixture, on the
 * fixture's own (virtual) time, with the status of each entity asserted after each message.
 */

type Probe = [group: string, edge: string, device?: string];

/** Status letters: N online, F offline, U unknown, - not known. */
async function statuses(path: HostPath, fixture: string, probes: Probe[]): Promise<string[]> {
  const { messages, errors } = await loadFixture(
    fileURLToPath(new URL(`../../../fixtures/${fixture}`, import.meta.url)),
  );
  expect(errors).toStrictEqual([]);
  const h = new HostHarness({ path }, messages[0]!.at - 1);
  const letter = { online: "N", offline: "F", unknown: "U" } as const;
  return messages.map((message) => {
    h.deliver(message);
    return probes
      .map(([group, edge, device]) => {
        const status = device === undefined ? h.nodeStatus(group, edge) : h.deviceStatus(group, edge, device);
        return status === undefined ? "-" : letter[status];
      })
      .join("");
  });
}

describe.each(HOST_PATHS)("%s", (path: HostPath) => {
  describe("the host session on recorded and hand-built traffic", () => {
    it("Tahu recording: Line1 Motor1 Sensor1 Line2 Pump1 after each message", async () => {
      expect(
        await statuses(path, "tahu/session.jsonl", [
          ["Plant1", "Line1"],
          ["Plant1", "Line1", "Motor1"],
          ["Plant1", "Line1", "Sensor1"],
          ["Plant1", "Line2"],
          ["Plant1", "Line2", "Pump1"],
        ]),
      ).toStrictEqual([
        "N----", // NBIRTH Line1
        "NN---", // DBIRTH Motor1
        "NNN--", // DBIRTH Sensor1
        "NNN--", // DDATA Motor1
        "NNN--", // DDATA Sensor1
        "NNN--", // NDATA Line1
        "NNF--", // DDEATH Sensor1
        "NNFN-", // NBIRTH Line2
        "NNFNN", // DBIRTH Pump1
        "NNFNN", // DDATA Pump1
        "NNFFF", // NDEATH Line2 (its Will: the socket was killed)
        "FFFFF", // NDEATH Line1 (graceful)
      ]);
    });

    it("stale-ndeath: the old session's NDEATH changes nothing", async () => {
      expect(
        await statuses(path, "stale-ndeath.jsonl", [
          ["G", "E"],
          ["G", "E", "D"],
        ]),
      ).toStrictEqual([
        "N-",
        "NN",
        "NN", // new NBIRTH: D awaits its DBIRTH
        "NN",
        "NN", // stale NDEATH (bdSeq 1) ignored
        "NN",
        "FF", // NDEATH of the current session
      ]);
    });

    it("ndeath-without-bdseq: honoured", async () => {
      expect(
        await statuses(path, "ndeath-without-bdseq.jsonl", [
          ["G", "E"],
          ["G", "E", "D"],
        ]),
      ).toStrictEqual(["N-", "NN", "FF"]);
    });

    it("data-before-birth: unknown until the rebirth it asked for arrives", async () => {
      expect(
        await statuses(path, "data-before-birth.jsonl", [
          ["G", "E"],
          ["G", "E", "D"],
        ]),
      ).toStrictEqual([
        "U-",
        "UU",
        "NU", // NBIRTH: D not yet reborn
        "NN",
        "NN",
      ]);
    });

    it("late-dbirth: the late device comes online", async () => {
      expect(
        await statuses(path, "late-dbirth.jsonl", [
          ["G", "E"],
          ["G", "E", "Late"],
        ]),
      ).toStrictEqual(["N-", "N-", "NN", "NN"]);
    });

    it("retained-nbirth: unknown until live DATA proves the node alive", async () => {
      expect(await statuses(path, "retained-nbirth.jsonl", [["G", "E"]])).toStrictEqual(["U", "N"]);
    });

    it("seq-wrap-and-gaps: the device born in the middle stays online through both gaps", async () => {
      const result = await statuses(path, "seq-wrap-and-gaps.jsonl", [
        ["G", "E"],
        ["G", "E", "D"],
      ]);
      expect(result.at(-1)).toBe("NN");
      expect(result.filter((s) => s !== "N-" && s !== "NN")).toStrictEqual([]);
    });

    it("truncated and random payloads do not change anything they cannot prove", async () => {
      expect(await statuses(path, "truncated-payload.jsonl", [["G", "E"]])).toStrictEqual(["-", "-", "N"]);
      expect(await statuses(path, "random-bytes.jsonl", [["G", "E"]])).toStrictEqual(["N", "N", "N"]);
    });

    it("every fixture runs without an exception", async () => {
      for (const fixture of [
        "alias-only-data.jsonl",
        "all-datatypes.jsonl",
        "bad-topics.jsonl",
        "compressed.jsonl",
        "host-state.jsonl",
        "template-in-dbirth.jsonl",
      ]) {
        await expect(statuses(path, fixture, [["G", "E"]])).resolves.toBeDefined();
      }
    });
  });
});

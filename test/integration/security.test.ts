import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DiscoverCall, type Registered, TestAgent } from "../support/akri-agent.js";
import { makePki, type TestPki } from "../support/certificates.js";
import { CliProcess, jsonLines, runCli } from "../support/cli.js";
import { HandlerProcess } from "../support/handler-process.js";
import { eventually } from "../support/live-host.js";
import { akriEnvironment, MonitorProcess } from "../support/monitor-process.js";
import { Mosquitto, mosquittoAvailable } from "../support/mosquitto.js";
import { ResilientEdge } from "../support/resilient-edge.js";

/*
 * Security against real Mosquitto brokers: a password file and ACLs, TLS with mutual
 * authentication (certificates made by the test with openssl), credentials and
 * certificates given as Akri discoveryProperties. Wrong credentials or untrusted
 * certificates give clear errors and retries, never a crash; an ACL that forbids
 * publishing makes rebirth requests and STATE fail visibly while discovery goes on; and no
 * secret ever shows up in logs, metrics, /devices, device properties or error messages.
 */

const run = promisify(execFile);

function mosquittoPasswd(): string {
  for (const path of [
    "/usr/bin/mosquitto_passwd",
    "/usr/local/bin/mosquitto_passwd",
    "/usr/sbin/mosquitto_passwd",
  ])
    if (existsSync(path)) return path;
  return "mosquitto_passwd";
}

const secret = (label: string) => `${label}-${randomBytes(12).toString("hex")}`;
const AKRI_PASSWORD = secret("akri-pw");
const EDGE_PASSWORD = secret("edge-pw");
const WRONG_PASSWORD = secret("wrong-pw");

/** The base64 body of a PEM key: a line of it must never be printed. */
function keyFragments(pem: string): string[] {
  return pem
    .split("\n")
    .filter((l) => l.length > 40 && !l.startsWith("-----"))
    .slice(0, 3);
}

describe.skipIf(!mosquittoAvailable())("security: credentials, ACLs and TLS against Mosquitto", () => {
  let handler: HandlerProcess;
  let agent: TestAgent;
  let registered: Registered;
  let pki: TestPki;
  let secured: Mosquitto;
  let tls: Mosquitto;
  const edges: ResilientEdge[] = [];
  const calls: DiscoverCall[] = [];
  const errors: string[] = [];

  const creds = (password: string) => ({
    MQTT_USERNAME: Buffer.from("akri"),
    MQTT_PASSWORD: Buffer.from(password),
  });
  const tlsProperties = (ca: string, cert?: string, key?: string) => ({
    MQTT_CA_CERT: Buffer.from(ca),
    ...(cert ? { MQTT_CLIENT_CERT: Buffer.from(cert) } : {}),
    ...(key ? { MQTT_CLIENT_KEY: Buffer.from(key) } : {}),
  });
  const edge = async (
    urls: string[],
    group: string,
    edgeId: string,
    client: ResilientEdge["options"]["client"],
  ) => {
    const e = new ResilientEdge({ urls, group, edge: edgeId, devices: ["Valve"], dataEveryMs: 200, client });
    edges.push(e);
    await e.start();
    return e;
  };

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), "akri-security-"));
    const passwords = join(dir, "passwords");
    await writeFile(passwords, "");
    await run(mosquittoPasswd(), ["-b", passwords, "akri", AKRI_PASSWORD]);
    await run(mosquittoPasswd(), ["-b", passwords, "edge", EDGE_PASSWORD]);
    // Mosquitto started as root reads its files as the unprivileged "mosquitto" user.
    await chmod(dir, 0o755);
    await chmod(passwords, 0o644);
    const acl = join(dir, "acl");
    // akri may read the Sparkplug namespace but publish nothing: no NCMD, no STATE.
    await writeFile(
      acl,
      [
        "user akri",
        "topic read spBv1.0/#",
        "topic read STATE/#",
        "",
        "user edge",
        "topic readwrite spBv1.0/#",
        "",
      ].join("\n"),
    );
    secured = await Mosquitto.start({
      anonymous: false,
      extraConfig: [`password_file ${passwords}`, `acl_file ${acl}`],
    });
    pki = await makePki();
    tls = await Mosquitto.start({
      tls: {
        cafile: pki.ca.certFile,
        certfile: pki.server.certFile,
        keyfile: pki.server.keyFile,
        requireCertificate: true,
      },
    });
    const handlers = await mkdtemp(join(tmpdir(), "akri-security-handlers-"));
    agent = new TestAgent(handlers);
    await agent.start();
    handler = await HandlerProcess.start(handlers, { AGENT_NODE_NAME: "node-s", LOG_LEVEL: "debug" });
    registered = await agent.waitForRegistrations(1);
  }, 60_000);

  afterAll(async () => {
    for (const call of calls) call.cancel();
    for (const e of edges) await e.kill();
    await handler?.stop();
    await agent?.stop();
    await secured?.stop();
    await tls?.stop();
  });

  const discover = (details: string, properties: Record<string, Buffer>) => {
    const call = agent.discover(registered, details, properties);
    calls.push(call);
    return call;
  };
  const failures = (broker: string) =>
    handler.output
      .split("\n")
      .filter((l) => l.includes('"msg":"cannot connect to broker"') && l.includes(broker))
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  it("discovers with credentials from discoveryProperties; an ACL forbidding publish makes rebirth and STATE fail visibly", async () => {
    const edgeClient = { username: "edge", password: EDGE_PASSWORD };
    // Born before the handler connects: only a rebirth request (which the ACL forbids) would reveal it.
    await edge([secured.url], "Secure", "Early", edgeClient);
    const call = discover(`serverUrls: [${secured.url}]`, creds(AKRI_PASSWORD));
    await eventually(() => call.lists.length > 0, "the first list", 10_000);
    const late = await edge([secured.url], "Secure", "Late", edgeClient);
    await call.waitForIds(late.ids, "the device of the node born after the handler connected");

    await eventually(
      async () =>
        ((await handler.metric('akri_mqtt_publishes_not_delivered_total{purpose="rebirth"}')) ?? 0) >= 1,
      "the forbidden rebirth request to be noticed",
      15_000,
    );
    expect(handler.output).toMatch(
      /never delivered it: does an ACL forbid this client to publish on spBv1\.0\/Secure\/NCMD\/Early/,
    );
    // STATE (QoS 1, MQTT 5): the broker refuses it outright, or swallows it.
    const stateFailed =
      ((await handler.metric("akri_mqtt_publish_failures_total")) ?? 0) +
      ((await handler.metric('akri_mqtt_publishes_not_delivered_total{purpose="state-birth"}')) ?? 0);
    expect(stateFailed).toBeGreaterThanOrEqual(1);
    // Discovery went on all along.
    expect(call.ids()).toStrictEqual(late.ids);
    expect(call.error).toBeUndefined();
  }, 60_000);

  it("a wrong password: a clear error naming what to check, retries with backoff, no crash", async () => {
    const call = discover(`serverUrls: [${secured.url}]\nclientId: wrong`, creds(WRONG_PASSWORD));
    await eventually(() => failures(secured.url).length >= 2, "two refused attempts", 15_000);
    const [first] = failures(secured.url);
    expect(first!.err).toMatch(/Not authorized|Bad User Name or Password/);
    expect(first!.hint).toMatch(/MQTT_USERNAME \/ MQTT_PASSWORD/);
    expect(handler.exitCode).toBeUndefined();
    expect(call.error).toBeUndefined();
    call.cancel();
  }, 30_000);

  it("mutual TLS with the CA, client certificate and key from discoveryProperties", async () => {
    const edgeTls = { ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key };
    const call = discover(
      `serverUrls: [${tls.url}]`,
      tlsProperties(pki.ca.cert, pki.client.cert, pki.client.key),
    );
    await eventually(() => call.lists.length > 0, "the first list", 10_000);
    const node = await edge([tls.url], "Tls", "Edge", edgeTls);
    await call.waitForIds(node.ids, "the device behind TLS");
  }, 30_000);

  it("inspect, record and replay take the CA, client certificate and key from the environment (mutual TLS)", async () => {
    const env = {
      MQTT_CA_CERT: pki.ca.cert,
      MQTT_CLIENT_CERT: pki.client.cert,
      MQTT_CLIENT_KEY: pki.client.key,
    };
    const out = join(await mkdtemp(join(tmpdir(), "akri-security-record-")), "recorded.jsonl");
    // The fixture's group only: other tests' edge nodes publish on this broker too.
    const topic = ["--topic", "spBv1.0/G/#"];
    const inspect = new CliProcess(["inspect", "--broker", tls.url, ...topic], env);
    const record = new CliProcess(["record", "--broker", tls.url, ...topic, "--out", out], env);
    try {
      await eventually(() => inspect.stderr.includes("inspect: listening"), "inspect to subscribe", 10_000);
      await eventually(() => record.stderr.includes('"msg":"recording"'), "record to subscribe", 10_000);
      const replayed = await runCli(
        ["replay", "test/fixtures/tahu-style-data.jsonl", "--broker", tls.url, "--as-fast-as-possible"],
        { env },
      );
      expect(replayed.stderr).toContain("replayed 4 message(s)");
      expect(replayed.code).toBe(0);
      await eventually(
        () => jsonLines(inspect.stdout).length >= 4,
        "inspect to print the 4 messages",
        10_000,
      );
      const ndata = jsonLines(inspect.stdout).find((l) => l.type === "NDATA") as {
        metrics: { name: string }[];
      };
      expect(ndata.metrics.map((m) => m.name)).toStrictEqual(["Supply Voltage", "Offset"]);
    } finally {
      await inspect.stop();
      await record.stop();
    }
    expect(record.stderr).toContain(`recorded 4 message(s) to ${out}`);
    const original = jsonLines(await readFile("test/fixtures/tahu-style-data.jsonl", "utf8"));
    const recorded = jsonLines(await readFile(out, "utf8"));
    expect(recorded.map((l) => [l.topic, l.payload_b64])).toStrictEqual(
      original.map((l) => [l.topic, l.payload_b64]),
    );
    for (const text of [inspect.stderr, record.stderr])
      for (const fragment of keyFragments(pki.client.key)) expect(text).not.toContain(fragment);
  }, 40_000);

  it.each([
    [
      "a broker certificate from a CA it does not trust",
      () => tlsProperties(pki.rogueCa.cert, pki.client.cert, pki.client.key),
      /self-signed certificate|unable to verify/,
      /MQTT_CA_CERT/,
    ],
    [
      "no client certificate where the broker requires one",
      () => tlsProperties(pki.ca.cert),
      /certificate required/,
      /MQTT_CLIENT_CERT and MQTT_CLIENT_KEY/,
    ],
    [
      "a client certificate the broker does not trust",
      () => tlsProperties(pki.ca.cert, pki.rogueClient.cert, pki.rogueClient.key),
      /unknown ca/,
      /does not accept our client certificate/,
    ],
  ])(
    "%s: a clear error, retries, no crash",
    async (what, properties, err, hint) => {
      const before = failures(tls.url).length;
      const call = discover(`serverUrls: [${tls.url}]\nclientId: ${what.length}-${Date.now()}`, properties());
      await eventually(() => failures(tls.url).length >= before + 2, `two failed attempts (${what})`, 20_000);
      const failure = failures(tls.url)[before]!;
      expect(failure.err).toMatch(err);
      expect(failure.hint).toMatch(hint);
      expect(handler.exitCode).toBeUndefined();
      expect(call.error).toBeUndefined();
      call.cancel();
    },
    40_000,
  );

  it("refuses a discoveryProperties key that is not a PEM key, naming the property, not its value", async () => {
    const notAKey = `not a key ${secret("pem")}`;
    const call = discover(`serverUrls: [${tls.url}]`, {
      ...tlsProperties(pki.ca.cert, pki.client.cert),
      MQTT_CLIENT_KEY: Buffer.from(notAKey),
    });
    const error = await call.waitForError();
    expect(error.code).toBe(3); // INVALID_ARGUMENT
    expect(error.details).toMatch(/MQTT_CLIENT_KEY/);
    expect(error.details).not.toContain(notAKey);
    errors.push(error.details, error.message);
  });

  it("no password, key or secret anywhere: logs (at debug), /metrics, /devices, device properties, errors", async () => {
    // Every secret at work in this test's own streams (the tests before add theirs, if run):
    // the right password with a device listed, a wrong one refused, a client key over TLS,
    // and a key that is no PEM refused at call time.
    const edgeClient = { username: "edge", password: EDGE_PASSWORD };
    const right = discover(
      `serverUrls: [${secured.url}]\nclientId: secrets\nsparkplug: {groupIds: {action: Include, items: [Secrets]}}`,
      creds(AKRI_PASSWORD),
    );
    const refusedBefore = failures(secured.url).length;
    discover(`serverUrls: [${secured.url}]\nclientId: secrets-wrong`, creds(WRONG_PASSWORD));
    const mtls = discover(
      `serverUrls: [${tls.url}]\nclientId: secrets-tls`,
      tlsProperties(pki.ca.cert, pki.client.cert, pki.client.key),
    );
    const notAKeyText = `not a key ${secret("pem")}`;
    const notAKey = discover(`serverUrls: [${tls.url}]`, {
      ...tlsProperties(pki.ca.cert, pki.client.cert),
      MQTT_CLIENT_KEY: Buffer.from(notAKeyText),
    });
    // Born after the handler subscribed: the ACL forbids the rebirth request that would find an earlier one.
    await eventually(() => right.lists.length > 0, "the first list through the right password", 10_000);
    const node = await edge([secured.url], "Secrets", "Edge", edgeClient);
    await right.waitForIds(node.ids, "the device through the right password", 15_000);
    await eventually(() => mtls.lists.length > 0, "a list through mutual TLS", 10_000);
    await eventually(
      () => failures(secured.url).length > refusedBefore,
      "the wrong password refused",
      15_000,
    );
    const refusal = await notAKey.waitForError();
    errors.push(refusal.details, refusal.message);
    const metrics = (await handler.get("/metrics")).body;
    const devices = (await handler.get("/devices")).body;
    const properties = JSON.stringify(calls.flatMap((c) => c.lists.flat().map((d) => d.properties)));
    errors.push(...calls.map((c) => `${c.error?.details ?? ""} ${c.error?.message ?? ""}`));
    // The device monitor too, with the right password, a wrong one, and mutual TLS.
    const device = right.lists.at(-1)![0]!;
    const monitorOutputs: string[] = [];
    for (const extra of <Record<string, string>[]>[
      { MQTT_BROKER_URI: secured.url, MQTT_USERNAME: "akri", MQTT_PASSWORD: AKRI_PASSWORD },
      { MQTT_BROKER_URI: secured.url, MQTT_USERNAME: "akri", MQTT_PASSWORD: WRONG_PASSWORD },
      {
        MQTT_BROKER_URI: tls.url,
        MQTT_CA_CERT: pki.ca.cert,
        MQTT_CLIENT_CERT: pki.client.cert,
        MQTT_CLIENT_KEY: pki.client.key,
      },
    ]) {
      const monitor = await MonitorProcess.start({
        ...akriEnvironment(device.id, device.properties),
        ...extra,
        LOG_LEVEL: "debug",
        HOSTNAME: `monitor-${monitorOutputs.length}`,
        MONITOR_STATE_DIR: await mkdtemp(join(tmpdir(), "akri-security-monitor-")),
      });
      // Connected, or (the wrong password) refused: either way it has used the secret.
      await eventually(
        () => /connected to broker|cannot connect to broker/.test(monitor.output),
        "the monitor to connect or be refused",
        10_000,
      );
      monitorOutputs.push(
        monitor.output,
        (await monitor.get("/state")).body,
        (await monitor.get("/metrics")).body,
      );
      await monitor.stop();
    }
    expect(monitorOutputs[0]).toMatch(/connected to broker/);
    expect(monitorOutputs[3]).toMatch(/cannot connect to broker/);
    const everything = {
      log: handler.output,
      metrics,
      devices,
      properties,
      errors: errors.join("\n"),
      monitor: monitorOutputs.join("\n"),
    };
    expect(handler.output).toContain('"level":20'); // the handler logged at debug: the most it says
    for (const [where, text] of Object.entries(everything)) {
      for (const needle of [
        AKRI_PASSWORD,
        EDGE_PASSWORD,
        WRONG_PASSWORD,
        notAKeyText,
        ...keyFragments(pki.client.key),
      ])
        expect(text.includes(needle), `${needle.slice(0, 12)}… in ${where}`).toBe(false);
    }
  });

  it("the HTTP endpoints bind only to the address given, and nothing there is writable", async () => {
    const directory = await mkdtemp(join(tmpdir(), "akri-security-bind-"));
    const bound = await HandlerProcess.start(directory, { AGENT_NODE_NAME: "node-b" }, [
      "--http-host",
      "127.0.0.2",
    ]);
    try {
      const port = bound.httpPort!;
      expect((await fetch(`http://127.0.0.2:${port}/metrics`)).status).toBe(200);
      await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
      for (const path of ["/healthz", "/metrics", "/devices", "/"])
        for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
          const response = await fetch(`http://127.0.0.2:${port}${path}`, {
            method,
            body: method === "DELETE" ? null : "{}",
          });
          expect(response.status, `${method} ${path}`).toBe(405);
        }
    } finally {
      await bound.stop();
    }
  });
});

import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { brokerProperties } from "../../src/discovery/broker-properties.js";
import { parseDiscoveryDetails } from "../../src/discovery/modes/modes.js";
import { monitorConfig } from "../../src/monitor/monitor-config.js";
import { parseBrokerCredentials } from "../../src/mqtt/credentials.js";
import { ROOT } from "../support/cli.js";
import { eventually } from "../support/live-host.js";

/*
 * The container image and the Kubernetes examples: the Dockerfile's runtime stage yields a
 * runnable `serve` (built by Docker where an engine exists, else by running its steps), and
 * every example Configuration's discoveryDetails is valid as shipped.
 */

interface Stage {
  name: string;
  lines: string[];
}

function stages(dockerfile: string): Stage[] {
  const result: Stage[] = [];
  for (const raw of dockerfile.replace(/\\\n\s*/g, " ").split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const from = /^FROM\s+\S+(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) result.push({ name: from[1] ?? "", lines: [] });
    else result.at(-1)?.lines.push(line);
  }
  return result;
}

const dockerAvailable = spawnSync("docker", ["info"], { stdio: "ignore" }).status === 0;

describe("the Dockerfile", () => {
  it("has a production-only runtime stage that runs serve", async () => {
    const runtime = stages(await readFile(join(ROOT, "Dockerfile"), "utf8")).at(-1)!;
    expect(runtime.lines).toContain("RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force");
    expect(runtime.lines).toContain("COPY --from=build /app/dist ./dist");
    expect(runtime.lines).toContain("COPY deploy/docker-entrypoint.sh ./docker-entrypoint.sh");
    expect(runtime.lines).toContain('ENTRYPOINT ["/app/docker-entrypoint.sh"]');
    expect(runtime.lines).toContain('CMD ["serve"]');
  });

  it.skipIf(dockerAvailable)(
    "its runtime steps (npm ci --omit=dev, the built dist/) give a runnable serve",
    async () => {
      const runtime = stages(await readFile(join(ROOT, "Dockerfile"), "utf8")).at(-1)!;
      const image = await mkdtemp(join(tmpdir(), "akri-mqtt-image-"));
      // COPY package.json package-lock.json ./ ; COPY proto ./proto ; COPY --from=build /app/dist ./dist
      for (const file of ["package.json", "package-lock.json"]) await cp(join(ROOT, file), join(image, file));
      await cp(join(ROOT, "proto"), join(image, "proto"), { recursive: true });
      await cp(join(ROOT, "dist"), join(image, "dist"), { recursive: true });
      await cp(join(ROOT, "deploy/docker-entrypoint.sh"), join(image, "docker-entrypoint.sh"));
      const install = runtime.lines
        .find((l) => l.startsWith("RUN npm ci"))!
        .replace(/^RUN /, "")
        .split(" && ")[0]!;
      execFileSync("sh", ["-c", `${install} --prefer-offline --no-audit --no-fund`], {
        cwd: image,
        stdio: "ignore",
        timeout: 120_000,
      });
      expect(existsSync(join(image, "node_modules/@grpc/grpc-js"))).toBe(true);
      expect(existsSync(join(image, "node_modules/vitest"))).toBe(false);
      expect(existsSync(join(image, "node_modules/sparkplug-client"))).toBe(false);

      const env = Object.fromEntries(
        runtime.lines
          .filter((l) => l.startsWith("ENV "))
          .flatMap((l) => l.slice(4).trim().split(/\s+/))
          .map((pair) => pair.split("=") as [string, string]),
      );
      const sockets = await mkdtemp(join(tmpdir(), "akri-mqtt-image-sockets-"));
      const { spawn } = await import("node:child_process");
      // ENTRYPOINT ["/app/docker-entrypoint.sh"] with CMD ["serve"] (plus test-only flags).
      const child = spawn(
        "sh",
        ["docker-entrypoint.sh", "serve", "--http-port", "0", "--http-host", "127.0.0.1"],
        {
          cwd: image,
          env: { PATH: process.env.PATH, ...env, DISCOVERY_HANDLERS_DIRECTORY: sockets },
          stdio: ["ignore", "ignore", "pipe"],
        },
      );
      let log = "";
      child.stderr.on("data", (d: Buffer) => {
        log += d.toString();
      });
      let exit: number | null | undefined;
      child.on("exit", (code) => {
        exit = code;
      });
      await eventually(
        () => /"url":"http:\/\/127\.0\.0\.1:\d+"/.test(log) || exit !== undefined,
        "serve to listen",
        15_000,
      );
      const port = Number(/"url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(log)?.[1]);
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(503); // no agent here: alive, not registered
      expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(200);
      expect(existsSync(join(sockets, "mqtt.sock"))).toBe(true);
      child.kill("SIGTERM");
      await eventually(() => exit !== undefined, "serve to stop");
      expect(exit).toBe(0);

      // AKRI_MQTT_COMMAND=monitor (Akri's Helm brokerPod can set env, not args) turns the
      // default command into the device monitor, configured by the device's properties.
      const monitor = spawn("sh", ["docker-entrypoint.sh", "serve"], {
        cwd: image,
        env: {
          PATH: process.env.PATH,
          ...env,
          AKRI_MQTT_COMMAND: "monitor",
          MQTT_BROKER_URI: "mqtt://127.0.0.1:1",
          SPARKPLUG_GROUP_ID: "G",
          SPARKPLUG_EDGE_NODE_ID: "E",
          SPARKPLUG_DEVICE_ID: "D",
          MONITOR_HTTP_PORT: "0",
          MONITOR_HTTP_HOST: "127.0.0.1",
          MONITOR_STATE_DIR: sockets,
        },
        stdio: ["ignore", "ignore", "pipe"],
      });
      let monitorLog = "";
      monitor.stderr.on("data", (d: Buffer) => {
        monitorLog += d.toString();
      });
      let monitorExit: number | null | undefined;
      monitor.on("exit", (code) => {
        monitorExit = code;
      });
      await eventually(
        () => /device monitor/.test(monitorLog) || monitorExit !== undefined,
        `the monitor to listen: ${monitorLog}`,
        15_000,
      );
      const monitorPort = Number(
        /"url":"http:\/\/127\.0\.0\.1:(\d+)","msg":"device monitor/.exec(monitorLog)?.[1],
      );
      const state = (await (await fetch(`http://127.0.0.1:${monitorPort}/state`)).json()) as { id: string };
      expect(state.id).toBe("spBv1.0/G/E/D");
      monitor.kill("SIGTERM");
      await eventually(() => monitorExit !== undefined, "the monitor to stop");
      expect(monitorExit).toBe(0);
    },
    180_000,
  );

  it.skipIf(!dockerAvailable)(
    "builds with Docker",
    () => {
      execFileSync("docker", ["build", "-t", "akri-mqtt:test", ROOT], { stdio: "ignore", timeout: 600_000 });
      const out = execFileSync("docker", ["run", "--rm", "akri-mqtt:test", "--help"]).toString();
      expect(out).toContain("serve");
    },
    600_000,
  );
});

describe("deployment examples", () => {
  const files = [
    "deploy/examples/sparkplug-devices.yaml",
    "deploy/examples/sparkplug-nodes.yaml",
    "deploy/examples/generic.yaml",
    "deploy/examples/sparkplug-two-brokers.yaml",
    "deploy/examples/sparkplug-sharded.yaml",
  ];

  it.each(files)("%s has valid discoveryDetails and no secrets in them", async (file) => {
    const documents = parseAllDocuments(await readFile(join(ROOT, file), "utf8")).map((d) => d.toJS());
    const configuration = documents.find((d) => d.kind === "Configuration");
    expect(configuration.spec.discoveryHandler.name).toBe("mqtt");
    const details = configuration.spec.discoveryHandler.discoveryDetails as string;
    const parsed = parseDiscoveryDetails(details);
    expect(parsed.ok && parsed.warnings, parsed.ok ? "" : parsed.error).toStrictEqual([]);
    expect(details).not.toMatch(/password|secret/i);
    const container = configuration.spec.brokerSpec.brokerPodSpec.containers[0];
    expect(container.resources.limits["{{PLACEHOLDER}}"]).toBe("1");
    // The workload is the device monitor from the same image, reachable through a Service per instance.
    expect(container.image).toMatch(/akri-mqtt/);
    expect(container.args).toStrictEqual(["monitor"]);
    expect(container.ports[0].containerPort).toBe(8080);
    expect(configuration.spec.instanceServiceSpec.ports[0].targetPort).toBe(8080);
    expect(JSON.stringify(configuration)).not.toMatch(/MONITOR_ALLOW_COMMANDS":"true/);
  });

  it("the two-broker example gives each site its own password, to the handler and to the monitor", async () => {
    const documents = parseAllDocuments(
      await readFile(join(ROOT, "deploy/examples/sparkplug-two-brokers.yaml"), "utf8"),
    ).map((d) => d.toJS());
    const secret = documents.find((d) => d.kind === "Secret").stringData as Record<string, string>;
    const configuration = documents.find((d) => d.kind === "Configuration");
    const parsed = parseDiscoveryDetails(configuration.spec.discoveryHandler.discoveryDetails);
    if (!parsed.ok) throw new Error(parsed.error);
    const brokers = parsed.details.brokers;
    expect(brokers).toHaveLength(2);
    // What the agent resolves: each discoveryProperty's Secret key, as the handler receives it.
    const resolved = Object.fromEntries(
      (
        configuration.spec.discoveryHandler.discoveryProperties as {
          name: string;
          valueFrom: { secretKeyRef: { key: string } };
        }[]
      ).map((p) => [p.name, secret[p.valueFrom.secretKeyRef.key]]),
    );
    const handler = parseBrokerCredentials(
      resolved,
      brokers.map((b) => b.name!),
    );
    if (!handler.ok) throw new Error(handler.error);
    expect(handler.warnings).toStrictEqual([]);
    expect(brokers.map((b) => handler.byBroker.get(b.name!))).toStrictEqual([
      { username: "akri", password: "change-me-a" },
      { username: "akri", password: "change-me-b" },
    ]);
    // The monitor's pod: the device's properties as Akri injects them, plus the pod spec's env.
    const container = configuration.spec.brokerSpec.brokerPodSpec.containers[0];
    const listed = brokerProperties(brokers);
    const env: Record<string, string> = {
      MQTT_BROKER_URI: listed.uri,
      MQTT_BROKER_URIS: listed.several!.uris,
      MQTT_BROKER_NAMES: listed.several!.names,
      SPARKPLUG_GROUP_ID: "Plant1",
      SPARKPLUG_EDGE_NODE_ID: "Line3",
      SPARKPLUG_DEVICE_ID: "Pump7",
    };
    for (const e of container.env as {
      name: string;
      value?: string;
      valueFrom?: { secretKeyRef: { key: string } };
    }[])
      env[e.name] = e.value ?? secret[e.valueFrom!.secretKeyRef.key]!;
    const monitor = monitorConfig(env);
    if (!monitor.ok) throw new Error(monitor.error);
    expect(monitor.config.brokers).toStrictEqual(brokers.map((b) => b.serverUrls));
    expect(monitor.config.credentials).toStrictEqual([
      { username: "akri", password: "change-me-a" },
      { username: "akri", password: "change-me-b" },
    ]);
  });

  it("the Helm values carry valid Sparkplug discoveryDetails for the mqtt handler", async () => {
    const [values] = parseAllDocuments(
      await readFile(join(ROOT, "deploy/helm/values-mqtt.yaml"), "utf8"),
    ).map((d) => d.toJS());
    expect(values.custom.configuration.discoveryHandlerName).toBe("mqtt");
    const parsed = parseDiscoveryDetails(values.custom.configuration.discoveryDetails);
    expect(parsed.ok && parsed.details.mode).toBe("sparkplug");
    // Instance names shown by the handler are the ones Akri makes: <configuration>-<hash>.
    expect(parsed.ok && parsed.details.configurationName).toBe(values.custom.configuration.name);
    expect(parsed.ok && parsed.warnings).toStrictEqual([]);
    // The chart's brokerPod takes env, not args: the image's entrypoint reads AKRI_MQTT_COMMAND.
    expect(values.custom.configuration.brokerPod.env.AKRI_MQTT_COMMAND).toBe("monitor");
    expect(values.custom.configuration.instanceService.targetPort).toBe(8080);
  });
});

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { MONITOR_DEFAULT_PORT } from "../../../src/monitor/monitor-config.js";
import { ROOT } from "../../support/cli.js";

/*
 * Our Helm values and example manifests against facts read from the Akri version the README
 * documents: project-akri/akri chart 0.13.26 (commit 604bdcb), deployment/helm/. A key the
 * chart does not read, a Service to a port where nothing listens, or a Configuration field
 * the CRD does not have fails here, long before a cluster would show it.
 */

const AKRI_CHART_VERSION = "0.13.26";

/**
 * Every value under `custom` that templates/custom-discovery-handler.yaml and
 * templates/custom-configuration.yaml read (0.13.26). Keys ending in `.*` are maps or lists
 * rendered whole (toYaml / range), so anything below them is the user's.
 */
const CHART_CUSTOM_KEYS = [
  "custom.discovery.enabled",
  "custom.discovery.name",
  "custom.discovery.image.repository",
  "custom.discovery.image.tag",
  "custom.discovery.image.pullPolicy",
  "custom.discovery.useNetworkConnection",
  "custom.discovery.port",
  "custom.discovery.nodeSelectors.*",
  "custom.discovery.resources.memoryRequest",
  "custom.discovery.resources.cpuRequest",
  "custom.discovery.resources.memoryLimit",
  "custom.discovery.resources.cpuLimit",
  "custom.configuration.enabled",
  "custom.configuration.name",
  "custom.configuration.discoveryHandlerName",
  "custom.configuration.discoveryDetails",
  "custom.configuration.pullPolicy",
  "custom.configuration.brokerPod.image.repository",
  "custom.configuration.brokerPod.image.tag",
  "custom.configuration.brokerPod.image.pullPolicy",
  "custom.configuration.brokerPod.env.*",
  "custom.configuration.brokerPod.envFrom.secretRef.*",
  "custom.configuration.brokerPod.envFrom.configMapRef.*",
  "custom.configuration.brokerPod.resources.memoryRequest",
  "custom.configuration.brokerPod.resources.cpuRequest",
  "custom.configuration.brokerPod.resources.memoryLimit",
  "custom.configuration.brokerPod.resources.cpuLimit",
  "custom.configuration.brokerPod.volumeMounts.*",
  "custom.configuration.brokerPod.volumes.*",
  "custom.configuration.brokerJob.image.repository",
  "custom.configuration.brokerJob.image.tag",
  "custom.configuration.brokerJob.command.*",
  "custom.configuration.brokerJob.env.*",
  "custom.configuration.brokerJob.envFrom.secretRef.*",
  "custom.configuration.brokerJob.envFrom.configMapRef.*",
  "custom.configuration.brokerJob.resources.memoryRequest",
  "custom.configuration.brokerJob.resources.cpuRequest",
  "custom.configuration.brokerJob.resources.memoryLimit",
  "custom.configuration.brokerJob.resources.cpuLimit",
  "custom.configuration.brokerJob.volumeMounts.*",
  "custom.configuration.brokerJob.volumes.*",
  "custom.configuration.brokerJob.restartPolicy",
  "custom.configuration.brokerJob.backoffLimit",
  "custom.configuration.brokerJob.parallelism",
  "custom.configuration.brokerJob.completions",
  "custom.configuration.createInstanceServices",
  "custom.configuration.instanceService.type",
  "custom.configuration.instanceService.name",
  "custom.configuration.instanceService.port",
  "custom.configuration.instanceService.targetPort",
  "custom.configuration.instanceService.protocol",
  "custom.configuration.createConfigurationService",
  "custom.configuration.configurationService.type",
  "custom.configuration.configurationService.name",
  "custom.configuration.configurationService.port",
  "custom.configuration.configurationService.targetPort",
  "custom.configuration.configurationService.protocol",
  "custom.configuration.brokerProperties.*",
  "custom.configuration.capacity",
];

/** values.yaml defaults that decide what renders (0.13.26). */
const CHART_DEFAULTS = { createInstanceServices: true, createConfigurationService: true };

/**
 * What custom-configuration.yaml renders for the Services (0.13.26): both only when
 * brokerPod.image.repository is set; the instance Service to instanceService.targetPort,
 * the configuration Service to configurationService.port (the template writes `port` as
 * its targetPort and never reads configurationService.targetPort).
 */
/** The values renderedServiceTargets reads. */
interface ConfigurationValues {
  brokerPod?: { image?: { repository?: string } };
  createInstanceServices?: boolean;
  createConfigurationService?: boolean;
  instanceService?: { targetPort?: number };
  configurationService?: { port?: number };
}

function renderedServiceTargets(
  configuration: ConfigurationValues,
): { service: string; targetPort: unknown }[] {
  if (!configuration.brokerPod?.image?.repository) return [];
  const targets: { service: string; targetPort: unknown }[] = [];
  if (configuration.createInstanceServices ?? CHART_DEFAULTS.createInstanceServices)
    targets.push({
      service: "instanceServiceSpec",
      targetPort: configuration.instanceService?.targetPort ?? 6052,
    });
  if (configuration.createConfigurationService ?? CHART_DEFAULTS.createConfigurationService)
    targets.push({
      service: "configurationServiceSpec",
      targetPort: configuration.configurationService?.port ?? 6052,
    });
  return targets;
}

/** The Configuration CRD's fields (crds/akri-configuration-crd.yaml, 0.13.26). */
const CRD = {
  spec: [
    "discoveryHandler",
    "capacity",
    "brokerSpec",
    "instanceServiceSpec",
    "configurationServiceSpec",
    "brokerProperties",
  ],
  discoveryHandler: ["name", "discoveryDetails", "discoveryProperties"],
  discoveryProperty: ["name", "value", "valueFrom"],
  propertyName: /^[_A-Za-z][_A-Za-z0-9]*$/,
  valueFrom: ["secretKeyRef", "configMapKeyRef"],
  keyRef: ["name", "key", "namespace", "optional"],
  brokerSpec: ["brokerPodSpec", "brokerJobSpec"],
};

/** The ServiceAccount the chart's agent runs as (templates/rbac.yaml, agent.yaml). */
const AGENT_SERVICE_ACCOUNT = "akri-agent-sa";

function leafPaths(value: unknown, prefix: string): string[] {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return [prefix];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => leafPaths(v, `${prefix}.${k}`));
}

function chartReads(path: string): boolean {
  return CHART_CUSTOM_KEYS.some((key) =>
    key.endsWith(".*") ? path === key.slice(0, -2) || path.startsWith(key.slice(0, -1)) : path === key,
  );
}

/** The YAML documents of a manifest, as plain values. */
async function documents(file: string) {
  return parseAllDocuments(await readFile(join(ROOT, file), "utf8")).map((d) => d.toJS());
}

const EXAMPLES = [
  "deploy/examples/sparkplug-devices.yaml",
  "deploy/examples/sparkplug-nodes.yaml",
  "deploy/examples/generic.yaml",
  "deploy/examples/sparkplug-two-brokers.yaml",
  "deploy/examples/sparkplug-sharded.yaml",
];

describe(`deploy/helm/values-mqtt.yaml against Akri's chart ${AKRI_CHART_VERSION}`, () => {
  it("sets only values the chart's templates read", async () => {
    const [values] = await documents("deploy/helm/values-mqtt.yaml");
    expect(Object.keys(values!)).toStrictEqual(["custom"]);
    const unknown = leafPaths(values!.custom, "custom").filter((path) => !chartReads(path));
    expect(unknown).toStrictEqual([]);
  });

  it("renders no Service to a port where nothing listens", async () => {
    const [values] = await documents("deploy/helm/values-mqtt.yaml");
    const configuration = values!.custom.configuration;
    // The broker pod is the monitor (AKRI_MQTT_COMMAND=monitor), which listens on its default port.
    expect(configuration.brokerPod.env.AKRI_MQTT_COMMAND).toBe("monitor");
    expect(configuration.brokerPod.env.MONITOR_HTTP_PORT).toBeUndefined();
    const targets = renderedServiceTargets(configuration);
    expect(targets.map((t) => t.service)).toStrictEqual(["instanceServiceSpec"]);
    for (const target of targets)
      expect(target, target.service).toMatchObject({ targetPort: MONITOR_DEFAULT_PORT });
  });

  it("gives the handler resources Node.js needs, not the chart's 24Mi / 24m", async () => {
    const [values] = await documents("deploy/helm/values-mqtt.yaml");
    const { resources } = values!.custom.discovery;
    expect(Number.parseInt(resources.memoryLimit, 10)).toBeGreaterThanOrEqual(256);
  });
});

describe(`example Configurations against Akri's CRD ${AKRI_CHART_VERSION}`, () => {
  it.each(EXAMPLES)("%s uses only fields the CRD has", async (file) => {
    const configuration = (await documents(file)).find((d) => d.kind === "Configuration")!;
    expect(configuration.apiVersion).toBe("akri.sh/v0");
    const { spec } = configuration;
    expect(Object.keys(spec).filter((k) => !CRD.spec.includes(k))).toStrictEqual([]);
    expect(Object.keys(spec.discoveryHandler).filter((k) => !CRD.discoveryHandler.includes(k))).toStrictEqual(
      [],
    );
    expect(Object.keys(spec.brokerSpec).filter((k) => !CRD.brokerSpec.includes(k))).toStrictEqual([]);
    expect(Object.keys(spec.brokerSpec)).toHaveLength(1);
    expect(Number.isInteger(spec.capacity)).toBe(true);
    for (const property of spec.discoveryHandler.discoveryProperties ?? []) {
      expect(property.name).toMatch(CRD.propertyName);
      expect(Object.keys(property).filter((k) => !CRD.discoveryProperty.includes(k))).toStrictEqual([]);
      expect(("value" in property ? 1 : 0) + ("valueFrom" in property ? 1 : 0), property.name).toBe(1);
      if (property.valueFrom) {
        const refs = Object.keys(property.valueFrom);
        expect(refs.filter((k) => !CRD.valueFrom.includes(k))).toStrictEqual([]);
        expect(refs).toHaveLength(1);
        const ref = property.valueFrom[refs[0]!];
        expect(Object.keys(ref).filter((k) => !CRD.keyRef.includes(k))).toStrictEqual([]);
      }
    }
  });

  it.each(EXAMPLES)("%s: every Service reaches a port the broker pod listens on", async (file) => {
    const configuration = (await documents(file)).find((d) => d.kind === "Configuration")!;
    const container = configuration.spec.brokerSpec.brokerPodSpec.containers[0];
    const ports = (container.ports ?? []) as { name?: string; containerPort: number }[];
    expect(ports.map((p) => p.containerPort)).toContain(MONITOR_DEFAULT_PORT);
    for (const service of ["instanceServiceSpec", "configurationServiceSpec"]) {
      for (const port of configuration.spec[service]?.ports ?? []) {
        const target = port.targetPort ?? port.port;
        const listens = ports.some((p) => p.containerPort === target || p.name === target);
        expect(listens, `${service} targetPort ${target}`).toBe(true);
      }
    }
  });

  it.each(["deploy/examples/sparkplug-devices.yaml", "deploy/examples/sparkplug-two-brokers.yaml"])(
    "%s reads each Secret through an explicit namespace, with a RoleBinding that lets the agent read it",
    async (file) => {
      const docs = await documents(file);
      const configuration = docs.find((d) => d.kind === "Configuration")!;
      const properties: { valueFrom?: { secretKeyRef?: { name: string; namespace?: string } } }[] =
        configuration.spec.discoveryHandler.discoveryProperties ?? [];
      const refs = properties.flatMap((p) => (p.valueFrom?.secretKeyRef ? [p.valueFrom.secretKeyRef] : []));
      expect(refs.length).toBeGreaterThan(0);
      for (const ref of refs) {
        // The agent's default is "default", not the Configuration's namespace.
        expect(ref.namespace, `secretKeyRef ${ref.name}`).toBeDefined();
        const secret = docs.find((d) => d.kind === "Secret" && d.metadata.name === ref.name);
        expect(secret?.metadata.namespace).toBe(ref.namespace);
        const role = docs.find(
          (d) =>
            d.kind === "Role" &&
            d.metadata.namespace === ref.namespace &&
            (d.rules as { resources: string[]; resourceNames: string[] }[]).some(
              (r) => r.resources.includes("secrets") && r.resourceNames.includes(ref.name),
            ),
        );
        if (!role) throw new Error(`no Role lets the agent read ${ref.name}`);
        const binding = docs.find(
          (d) =>
            d.kind === "RoleBinding" &&
            d.metadata.namespace === ref.namespace &&
            d.roleRef.name === role.metadata.name,
        );
        expect(binding?.subjects).toStrictEqual([
          { kind: "ServiceAccount", name: AGENT_SERVICE_ACCOUNT, namespace: expect.any(String) },
        ]);
      }
    },
  );
});

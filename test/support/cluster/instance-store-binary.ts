import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ROOT } from "../cli.js";

/*
 * The instance store (instance-store/main.go) is built by the tests on first use, offline,
 * with Debian's Go (golang-go) and Debian's structured-merge-diff (the source package
 * golang-k8s-sigs-structured-merge-diff-dev, under /usr/share/gocode) in GOPATH mode, and
 * kept outside git under node_modules/.cache (AKRI_MQTT_CACHE_DIR overrides), named by a
 * hash of its source and the Go version, so later runs skip the build.
 */

const run = promisify(execFile);

const SOURCE = join(ROOT, "test/support/cluster/instance-store/main.go");
/** The schema is read at run time (an argument), so changing it needs no rebuild. */
export const INSTANCE_SCHEMA = join(ROOT, "test/support/cluster/instance-store/instance-schema.yaml");
const GOCODE = "/usr/share/gocode";
const SMD = join(GOCODE, "src/sigs.k8s.io/structured-merge-diff/merge/update.go");
const GO_CANDIDATES = ["/usr/bin/go", "/usr/lib/go/bin/go", "/usr/local/go/bin/go"];

function goBinary(): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    const path = join(dir, "go");
    if (dir && existsSync(path)) return path;
  }
  return GO_CANDIDATES.find((p) => existsSync(p));
}

function cacheRoot(): string {
  return process.env.AKRI_MQTT_CACHE_DIR ?? join(ROOT, "node_modules/.cache/akri-mqtt");
}

/**
 * True when the store can run: Go and structured-merge-diff's source are installed. Under
 * CI=true their absence is an error (.ci/run installs them), never a skip.
 */
export function instanceStoreAvailable(): boolean {
  const missing = [
    ...(goBinary() === undefined ? ["golang-go"] : []),
    ...(existsSync(SMD) ? [] : ["golang-k8s-sigs-structured-merge-diff-dev"]),
  ];
  if (missing.length > 0 && process.env.CI === "true") {
    throw new Error(
      `CI=true but the instance store cannot be built: .ci/run must install ${missing.join(" and ")} (apt-get install -y ${missing.join(" ")})`,
    );
  }
  return missing.length === 0;
}

let built: Promise<string> | undefined;

/** The path of the built store, building it first if no cached build matches the source. */
export function instanceStoreBinary(): Promise<string> {
  built ??= build();
  return built;
}

async function build(): Promise<string> {
  const go = goBinary();
  if (go === undefined) throw new Error("go is not installed (apt-get install golang-go)");
  const source = await readFile(SOURCE);
  const { stdout: version } = await run(go, ["version"]);
  const hash = createHash("sha256").update(source).update(version).digest("hex").slice(0, 16);
  const dir = join(cacheRoot(), `instance-store-${hash}`);
  const binary = join(dir, "instance-store");
  if (existsSync(binary)) return binary;

  await mkdir(cacheRoot(), { recursive: true });
  const work = await mkdtemp(join(cacheRoot(), `.build-${hash}-`));
  try {
    const gopath = join(work, "gopath");
    await run(go, ["build", "-o", join(work, "out", "instance-store"), SOURCE], {
      cwd: work,
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: process.env.HOME ?? work,
        GO111MODULE: "off",
        GOPATH: `${gopath}:${GOCODE}`,
        GOCACHE: join(tmpdir(), "akri-mqtt-go-build-cache"),
        GOPROXY: "off",
        GOFLAGS: "",
        CGO_ENABLED: "0",
      },
      timeout: 180_000,
    }).catch((e: Error & { stderr?: string }) => {
      throw new Error(`building the instance store failed: ${e.message}\n${e.stderr ?? ""}`);
    });
    // Another test file may have built it meanwhile: whichever rename lands first stays.
    await rename(join(work, "out"), dir).catch((e: NodeJS.ErrnoException) => {
      if (!existsSync(binary)) throw e;
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return binary;
}

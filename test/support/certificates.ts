import { execFile } from "node:child_process";
import { chmod, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

/*
 * Throw-away PKI for TLS tests, made with openssl: a CA, a server certificate for
 * 127.0.0.1 and client certificates signed by it, and a second CA nobody trusts.
 */

const run = promisify(execFile);

interface Pem {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

export interface TestPki {
  dir: string;
  ca: Pem;
  server: Pem;
  client: Pem;
  /** A CA the broker does not trust, and a client certificate it signed. */
  rogueCa: Pem;
  rogueClient: Pem;
}

async function read(certFile: string, keyFile: string): Promise<Pem> {
  // Mosquitto started as root reads them as the unprivileged "mosquitto" user.
  await chmod(certFile, 0o644);
  await chmod(keyFile, 0o644);
  return { certFile, keyFile, cert: await readFile(certFile, "utf8"), key: await readFile(keyFile, "utf8") };
}

async function selfSigned(dir: string, name: string): Promise<Pem> {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.crt`);
  await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    keyFile,
    "-out",
    certFile,
    "-days",
    "2",
    "-subj",
    `/CN=${name}`,
  ]);
  return read(certFile, keyFile);
}

async function signed(dir: string, name: string, ca: Pem, extensions: string): Promise<Pem> {
  const keyFile = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const certFile = join(dir, `${name}.crt`);
  const ext = join(dir, `${name}.ext`);
  await writeFile(ext, `${extensions}\n`);
  await run("openssl", [
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    keyFile,
    "-out",
    csr,
    "-subj",
    `/CN=${name}`,
  ]);
  await run("openssl", [
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    ca.certFile,
    "-CAkey",
    ca.keyFile,
    "-CAcreateserial",
    "-out",
    certFile,
    "-days",
    "2",
    "-extfile",
    ext,
  ]);
  return read(certFile, keyFile);
}

export async function makePki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), "akri-mqtt-pki-"));
  await chmod(dir, 0o755);
  const ca = await selfSigned(dir, "test-ca");
  const rogueCa = await selfSigned(dir, "rogue-ca");
  return {
    dir,
    ca,
    rogueCa,
    server: await signed(
      dir,
      "broker",
      ca,
      "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth",
    ),
    client: await signed(dir, "akri-client", ca, "extendedKeyUsage=clientAuth"),
    rogueClient: await signed(dir, "rogue-client", rogueCa, "extendedKeyUsage=clientAuth"),
  };
}

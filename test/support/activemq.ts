import { existsSync } from "node:fs";
import { mkdir, mkdtemp, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BrokerChild, TempDirBroker } from "./broker-child.js";
import { freePort } from "./mosquitto.js";

/*
 * A real Apache ActiveMQ Classic 5.17 (Debian 12's `activemq`) with an MQTT transport on a
 * free loopback port: it speaks MQTT 3.1.1 only, and hangs up on an MQTT 5 CONNECT without
 * a CONNACK. Debian's package lacks the MQTT transport's own jars (its transport then
 * accepts TCP and never answers): they come from `libmqtt-client-java`, linked here into a
 * private ACTIVEMQ_BASE/lib in a temporary directory, which the broker's launcher adds to
 * its class path beside /usr/share/activemq/lib; nothing under /usr or /etc is touched, and
 * the same layout serves CI and a developer's machine. We run the JVM ourselves, as Debian's
 * /usr/bin/activemq would after switching to the activemq user, in the foreground; its
 * log4j 1.2 gets a properties file (without one it says nothing, errors included).
 *
 * Tests that need it use `activeMqAvailable()`: under CI=true missing parts fail the run
 * (.ci/run installs them); elsewhere those tests are skipped.
 */

const HOME = "/usr/share/activemq";
const LAUNCHER = join(HOME, "bin", "activemq.jar");
const JAVA = "/usr/bin/java";
/** The MQTT transport's dependencies Debian's activemq does not ship (from libmqtt-client-java). */
const TRANSPORT_JARS = ["mqtt-client", "hawtdispatch", "hawtdispatch-transport"].map((name) =>
  join("/usr/share/java", `${name}.jar`),
);

/** True when the ActiveMQ tests must run: it is installed, or CI requires it (then missing is an error). */
export function activeMqAvailable(): boolean {
  const missing = [JAVA, LAUNCHER, ...TRANSPORT_JARS].filter((path) => !existsSync(path));
  if (missing.length > 0 && process.env.CI === "true")
    throw new Error(
      `CI=true but ActiveMQ's ${missing.join(", ")} is missing: .ci/run must install it (apt-get install -y activemq libmqtt-client-java)`,
    );
  return missing.length === 0;
}

/** The broker: one MQTT connector, KahaDB in the temporary directory (persistent sessions and retained messages outlive a restart). */
function brokerXml(dir: string, port: number): string {
  return `<beans xmlns="http://www.springframework.org/schema/beans"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="http://www.springframework.org/schema/beans http://www.springframework.org/schema/beans/spring-beans-2.0.xsd
    http://activemq.apache.org/schema/core http://activemq.apache.org/schema/core/activemq-core.xsd">
  <broker xmlns="http://activemq.apache.org/schema/core" brokerName="akri-mqtt-test" useJmx="false"
      advisorySupport="false" dataDirectory="${join(dir, "data")}">
    <persistenceAdapter><kahaDB directory="${join(dir, "data", "kahadb")}"/></persistenceAdapter>
    <transportConnectors>
      <transportConnector name="mqtt" uri="mqtt://127.0.0.1:${port}?transport.defaultKeepAlive=60000"/>
    </transportConnectors>
  </broker>
</beans>
`;
}

/** Warnings and errors to stdout: a connection it drops says why ("Invalid message encoding"). */
const LOG4J = `log4j.rootLogger=WARN, out
log4j.appender.out=org.apache.log4j.ConsoleAppender
log4j.appender.out.layout=org.apache.log4j.PatternLayout
log4j.appender.out.layout.ConversionPattern=%d %-5p [%c] %m%n
`;

export class ActiveMq extends TempDirBroker {
  /** Starts a broker and waits until its MQTT connector listens (2-4 s). */
  static async start(): Promise<ActiveMq> {
    const dir = await mkdtemp(join(tmpdir(), "akri-mqtt-activemq-"));
    const port = await freePort();
    await mkdir(join(dir, "lib"));
    await mkdir(join(dir, "conf"));
    await mkdir(join(dir, "tmp"));
    for (const jar of TRANSPORT_JARS) await symlink(jar, join(dir, "lib", jar.split("/").at(-1)!));
    await writeFile(join(dir, "conf", "activemq.xml"), brokerXml(dir, port));
    await writeFile(join(dir, "conf", "log4j.properties"), LOG4J);
    const broker = new ActiveMq(port, dir);
    await broker.boot();
    return broker;
  }

  protected launch(): Promise<BrokerChild> {
    const { dir } = this;
    return BrokerChild.launch({
      name: "ActiveMQ",
      command: JAVA,
      args: [
        // A broker for a test: small heap, quick start (C1 only), one GC thread.
        "-Xms16m",
        "-Xmx256m",
        "-XX:TieredStopAtLevel=1",
        "-XX:+UseSerialGC",
        "-Xshare:auto",
        "--add-opens=java.base/java.lang=ALL-UNNAMED",
        `-Dlog4j.configuration=file:${join(dir, "conf", "log4j.properties")}`,
        `-Dactivemq.home=${HOME}`,
        `-Dactivemq.base=${dir}`, // its lib/ joins the class path: the transport's jars
        `-Dactivemq.conf=${join(dir, "conf")}`,
        `-Dactivemq.data=${join(dir, "data")}`,
        `-Djava.io.tmpdir=${join(dir, "tmp")}`,
        "-jar",
        LAUNCHER,
        "start",
        `xbean:file:${join(dir, "conf", "activemq.xml")}`,
      ],
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C.UTF-8" },
      cwd: dir,
      port: this.port,
      timeoutMs: 60_000,
    });
  }
}

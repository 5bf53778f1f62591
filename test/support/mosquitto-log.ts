/**
 * What Mosquitto's `log_type all` says one client sent, in order: its Will topic, each
 * SUBSCRIBE with its filters, each PUBLISH with its topic. Mosquitto 2.0 writes them as
 * "Will message specified …" + "\t<topic>", "Received SUBSCRIBE from <id>" + "\t<filter> (QoS n)"
 * lines, and "Received PUBLISH from <id> (d0, q1, r1, m3, '<topic>', … (n bytes))".
 */
export function packetsFrom(
  log: string,
  clientId: string,
): { kind: "will" | "subscribe" | "publish"; topics: string[] }[] {
  const packets: { kind: "will" | "subscribe" | "publish"; topics: string[] }[] = [];
  let open: { kind: "will" | "subscribe"; topics: string[] } | undefined;
  let ours = false;
  for (const raw of log.split("\n")) {
    const line = raw.replace(/^\d+: /, "");
    const connected = /^New client connected from \S+ as (\S+) /.exec(line);
    if (connected) ours = connected[1] === clientId;
    if (line.startsWith("\t") && open) {
      const filter = /^\t(.*?)(?: \(QoS \d\))?$/.exec(line)![1]!;
      open.topics.push(filter);
      if (open.kind === "will") open = undefined;
      continue;
    }
    if (ours && line.startsWith("Will message specified")) {
      open = { kind: "will", topics: [] };
      packets.push(open);
    } else if (line === `Received SUBSCRIBE from ${clientId}`) {
      open = { kind: "subscribe", topics: [] };
      packets.push(open);
    } else if (line.startsWith(`Received PUBLISH from ${clientId} `)) {
      packets.push({ kind: "publish", topics: [/, '(.*)', \.\.\. \(\d+ bytes\)\)$/.exec(line)![1]!] });
    } else if (!line.startsWith(`${clientId} `)) {
      open = undefined;
    }
  }
  return packets;
}

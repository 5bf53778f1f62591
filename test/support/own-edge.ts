import mqtt, { type MqttClient } from "mqtt";
import { DataType } from "../../src/sparkplug/datatype.js";
import { EdgeNodeEncoder } from "../../src/sparkplug/edge-node-encoder.js";

/** An edge node session of our own: Will = NDEATH with this bdSeq at QoS 1, then NBIRTH and DBIRTH. */
export async function connectEdge(
  url: string,
  group: string,
  edgeId: string,
  bdSeq: bigint,
  clientId: string,
): Promise<{ client: MqttClient; edge: EdgeNodeEncoder }> {
  const edge = new EdgeNodeEncoder(group, edgeId, bdSeq, [
    { name: "T", alias: 1, datatype: DataType.Int32, value: 1 },
  ]);
  edge.defineDevice("Drive", { metrics: [{ name: "RPM", alias: 2, datatype: DataType.Int32, value: 0 }] });
  const will = edge.will(Date.now());
  const client = mqtt.connect(url, {
    clientId,
    clean: true,
    reconnectPeriod: 0,
    will: { topic: will.topic, payload: Buffer.from(will.payload), qos: 1, retain: false },
  });
  await new Promise<void>((resolve) => client.once("connect", () => resolve()));
  for (const p of edge.births(Date.now()))
    await client.publishAsync(p.topic, Buffer.from(p.payload), { qos: 0 });
  return { client, edge };
}

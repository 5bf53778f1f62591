/*
 * The whole-process baseline of `discover --replay` (bench/startup.ts): a node process
 * that does only what any replay tool must, and nothing of akri-mqtt: gunzip, split into
 * lines, JSON.parse, base64 decode, and protobufjs's decode of each payload with
 * proto/sparkplug_b.proto. Prints the message count.
 * Usage: node bare-decode.js <fixture.jsonl.gz> <sparkplug_b.proto>
 */
import { createReadStream } from "node:fs";
import { createGunzip } from "node:zlib";
import protobuf from "protobufjs";

const [fixture, proto] = process.argv.slice(2);
if (fixture === undefined || proto === undefined) throw new Error("usage: bare-decode <fixture> <proto>");
const Payload = (await protobuf.load(proto)).lookupType("org.eclipse.tahu.protobuf.Payload");
const text = createReadStream(fixture).pipe(createGunzip());
text.setEncoding("utf8");
let rest = "";
let count = 0;
const line = (json: string) => {
  if (json === "") return;
  const record = JSON.parse(json) as { payload_b64: string };
  Payload.decode(Buffer.from(record.payload_b64, "base64"));
  count++;
};
for await (const chunk of text as AsyncIterable<string>) {
  const lines = (rest + chunk).split("\n");
  rest = lines.pop()!;
  for (const json of lines) line(json);
}
line(rest);
process.stdout.write(`${count}\n`);

/*
 * The whole-process baseline of `discover --replay` (bench/startup.ts): a node process
 * that does only what any replay tool must, and nothing of akri-mqtt: gunzip, split into
 * lines, JSON.parse, base64 decode, and protobufjs's decode of each payload with
 * proto/sparkplug_b.proto. Prints the message count.
 * Usage: node bare-decode.js <fixture.jsonl.gz> <sparkplug_b.proto>
 */
import protobuf from "protobufjs";
import { bareRead } from "./bare-read.js";

const [fixture, proto] = process.argv.slice(2);
if (fixture === undefined || proto === undefined) throw new Error("usage: bare-decode <fixture> <proto>");
const Payload = (await protobuf.load(proto)).lookupType("org.eclipse.tahu.protobuf.Payload");
process.stdout.write(`${await bareRead(fixture, (payload) => Payload.decode(payload))}\n`);

import { createReadStream } from "node:fs";
import { createGunzip } from "node:zlib";

/**
 * The bare baselines' reading of a gzip fixture, what any replay tool must do at the least:
 * gunzip, split into lines, JSON.parse, base64 decode, then `decode` each payload. Returns
 * the message count.
 */
export async function bareRead(path: string, decode: (payload: Buffer) => unknown): Promise<number> {
  const text = createReadStream(path).pipe(createGunzip());
  text.setEncoding("utf8");
  let rest = "";
  let count = 0;
  const line = (json: string) => {
    if (json === "") return;
    const record = JSON.parse(json) as { payload_b64: string };
    decode(Buffer.from(record.payload_b64, "base64"));
    count++;
  };
  for await (const chunk of text as AsyncIterable<string>) {
    const lines = (rest + chunk).split("\n");
    rest = lines.pop()!;
    for (const json of lines) line(json);
  }
  line(rest);
  return count;
}

/**
 * The per-layer progress view on a real terminal: `convert docker://` of a three-layer image from a real registry on
 * 127.0.0.1, with stderr on a pseudo-terminal made by script(1). What the terminal received is replayed on a small
 * screen model (the escape sequences the view uses): every layer had a row showing its downloaded bytes, the total
 * row showed written and downloaded bytes, no row ever reached the last column (a row that wraps breaks the
 * redraw), and at the end no row is left on the screen.
 */
import assert from "node:assert/strict";
import { formatBytes } from "../../cli/format_bytes.ts";
import { compress, tarOf, withTempDir, writeOciDir } from "../_helpers/oci_builder.ts";
import { startRegistry } from "../_helpers/registry.ts";
import { ENTRIES, type Entry } from "./_cli.ts";
import { runOnTerminal } from "./_terminal.ts";

/** Layer sizes (random bytes, so gzip keeps them about this size). */
const SIZES = [1_000_000, 1_500_000, 700_000];
/** The pty script(1) makes has no size of its own here: the view takes 80×24. */
const COLUMNS = 80;

/** An OCI layout of three layers, each one file of random bytes; the sizes of the layer blobs. */
async function threeLayers(dir: string): Promise<number[]> {
  const layers = [];
  for (const [i, size] of SIZES.entries()) {
    const root = `${dir}/layer${i}`;
    await Deno.mkdir(`${root}/data`, { recursive: true });
    // getRandomValues fills at most 65536 bytes at a time.
    const bytes = new Uint8Array(size);
    for (let at = 0; at < size; at += 65536) crypto.getRandomValues(bytes.subarray(at, at + 65536));
    await Deno.writeFile(`${root}/data/layer${i}.bin`, bytes);
    const tar = await tarOf(root);
    layers.push({ tar, compression: "gzip" as const, blob: await compress(tar, "gzip") });
  }
  await writeOciDir(`${dir}/image`, layers, { Cmd: ["/bin/sh"] });
  return layers.map((layer) => layer.blob.length);
}

/**
 * Replay what a terminal got on a screen: printable characters (wrapping at the width, as a warning line may),
 * `\r`, `\n`, and the sequences the view uses (`ESC[2K` clear the row, `ESC[nA` up n rows, `ESC[J` clear to the end
 * of the screen); colours are skipped. Throws on a sequence it does not know.
 */
function replay(output: string): string[] {
  const screen: string[][] = [[]];
  let row = 0;
  let col = 0;
  // deno-lint-ignore no-control-regex -- the terminal's escape sequences are what is parsed
  const tokens = output.match(/\x1b\[[0-9;]*[A-Za-z]|[\s\S]/g) ?? [];
  for (const token of tokens) {
    if (col >= COLUMNS && token.length === 1 && token >= " ") {
      row++;
      col = 0;
    }
    const line = (screen[row] ??= []);
    if (token === "\r") col = 0;
    else if (token === "\n") {
      row++;
      screen[row] ??= [];
    } else if (token === "\x1b[2K") line.length = 0;
    else if (token === "\x1b[J") {
      line.length = col;
      screen.length = row + 1;
    } else if (token.startsWith("\x1b[") && token.endsWith("A")) {
      row = Math.max(0, row - Number(token.slice(2, -1) || "1"));
    } else if (token.startsWith("\x1b[") && token.endsWith("m")) continue;
    else if (token.startsWith("\x1b")) throw new Error(`unknown escape sequence ${JSON.stringify(token)}`);
    else line[col++] = token;
  }
  return screen.map((line) => Array.from(line, (c) => c ?? " ").join("").trimEnd());
}

/** Run convert with stderr (and stdin) on a pty, stdout to a file; what the terminal got. */
function convertOnTerminal(entry: Entry, dir: string, image: string): Promise<{ code: number; terminal: string }> {
  const args = [
    ...["convert", image, `${dir}/ct`, "--platform", "linux/amd64", "--tls-verify=false"],
    ...["--cache-dir", `${dir}/cache`, "--json"],
  ];
  return runOnTerminal(entry, args, `${dir}/report.json`, { NO_COLOR: "1", HOME: dir });
}

for (const entry of ENTRIES) {
  Deno.test(`[${entry}] convert docker:// on a terminal shows a row per layer with its downloaded bytes, then clears them`, async () => {
    await withTempDir(async (dir) => {
      const blobs = await threeLayers(dir);
      await using registry = await startRegistry("http");
      const image = `${registry.host}/progress:1`;
      await registry.push(`oci:${dir}/image:latest`, "progress:1");
      const r = await convertOnTerminal(entry, dir, `docker://${image}`);
      const shown = JSON.stringify(r.terminal);
      assert.equal(r.code, 0, shown);
      assert.equal(JSON.parse(await Deno.readTextFile(`${dir}/report.json`)).name, "ct", "stdout holds the report");
      // The pty turns "\n" into "\r\n"; the rows are what follows each "clear row".
      // deno-lint-ignore no-control-regex -- a row ends at the next control character
      const rows = r.terminal.split("\x1b[2K").map((row) => row.split(/[\r\n\x1b]/)[0]!);
      const long = rows.filter((row) => /^(oci2lxc: |layer \d|\+ \d)/.test(row) && row.length >= COLUMNS);
      assert.deepEqual(long, [], "no progress row reaches the last column");
      for (const [i, size] of blobs.entries()) {
        const mine = rows.filter((row) => row.startsWith(`layer ${i + 1}/3 `));
        assert(mine.length > 0, `no row for layer ${i + 1}: ${shown}`);
        // Each layer shows, at some point, bytes downloaded (the whole layer once it is written).
        const whole = `downloaded ${formatBytes(size)}`;
        assert(mine.some((row) => row.includes(whole)), `layer ${i + 1} never showed "${whole}": ${mine.join(" | ")}`);
      }
      const total = `of ${formatBytes(blobs.reduce((a, b) => a + b))}  downloaded `;
      assert(rows.some((row) => row.startsWith("oci2lxc: applying layers  written ") && row.includes(total)), shown);
      // The screen at the end: no progress row is left (warnings, if any, are).
      const screen = replay(r.terminal);
      assert(!screen.some((line) => /^(oci2lxc: |layer \d|\+ \d)/.test(line)), JSON.stringify(screen));
      // Again with the cache filled: every layer's row says it came from the cache, none that it downloaded.
      await Deno.remove(`${dir}/ct`, { recursive: true });
      const again = await convertOnTerminal(entry, dir, `docker://${image}`);
      assert.equal(again.code, 0, JSON.stringify(again.terminal));
      // deno-lint-ignore no-control-regex -- a row ends at the next control character
      const warm = again.terminal.split("\x1b[2K").map((row) => row.split(/[\r\n\x1b]/)[0]!);
      for (const [i, size] of blobs.entries()) {
        const mine = warm.filter((row) => row.startsWith(`layer ${i + 1}/3 `));
        assert(
          mine.some((row) => row.includes(`${formatBytes(size)}  from the cache`)),
          `layer ${i + 1}: ${mine.join(" | ")}`,
        );
        assert(!mine.some((row) => row.includes("download")), `layer ${i + 1} said downloaded: ${mine.join(" | ")}`);
      }
    });
  });
}

/**
 * The `@example`s in the code's documentation are tests (`deno test --doc` runs them in both tiers): this keeps each
 * one a test that can fail.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

function* sourceFiles(dir: URL): Generator<URL> {
  for (const entry of [...Deno.readDirSync(dir)].sort((a, b) => a.name < b.name ? -1 : 1)) {
    if (entry.isDirectory) yield* sourceFiles(new URL(`${entry.name}/`, dir));
    else if (entry.name.endsWith(".ts")) yield new URL(entry.name, dir);
  }
}

/** Every fenced code block in a file's doc comments: where it starts, its opening line and its body. */
function docBlocks(text: string): { line: number; fence: string; body: string }[] {
  const blocks: { line: number; fence: string; body: string }[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const fence = /^\s*\*\s?(```\S*.*)$/.exec(lines[i]!)?.[1];
    if (fence === undefined || fence === "```") continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^\s*\*\s?```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    blocks.push({ line: start + 1, fence, body: body.join("\n") });
  }
  return blocks;
}

Deno.test("every @example in core/, cli/, plugins/, examples/ and mod.ts runs (no ignore) and asserts with node:assert", () => {
  const files = [
    ...["core/", "cli/", "plugins/", "examples/"].flatMap((dir) => [...sourceFiles(new URL(dir, ROOT))]),
    new URL("mod.ts", ROOT),
  ];
  const wrong: string[] = [];
  let examples = 0;
  for (const file of files) {
    const where = file.pathname.slice(ROOT.pathname.length);
    for (const block of docBlocks(Deno.readTextFileSync(file))) {
      if (!/^```(ts|typescript|js)\b/.test(block.fence)) continue;
      examples++;
      if (/\bignore\b/.test(block.fence)) wrong.push(`${where}:${block.line}: marked ignore: it must run`);
      if (block.body.includes("console.assert(")) wrong.push(`${where}:${block.line}: console.assert cannot fail`);
      if (!block.body.includes('import assert from "node:assert/strict"')) {
        wrong.push(`${where}:${block.line}: no import assert from "node:assert/strict"`);
      }
    }
  }
  assert.deepEqual(wrong, []);
  assert.deepEqual(examples > 50, true, `found only ${examples} examples`);
});

/**
 * The tier mechanism itself (tests/_helpers/tier.ts): in the unit tier a system test is listed as ignored, never run,
 * and a test that reaches a system helper without being declared fails loudly, also when the unit tier runs as root.
 */
import assert from "node:assert/strict";
import { withTempDir } from "./_helpers/oci_builder.ts";

const TIER = new URL("./_helpers/tier.ts", import.meta.url).href;

/** Run `deno test` on one generated file in the unit tier and return its report. */
async function unitTier(dir: string, source: string): Promise<{ code: number; out: string }> {
  const file = `${dir}/generated_test.ts`;
  await Deno.writeTextFile(file, source);
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", "--no-check", file],
    env: { NO_COLOR: "1", OCI2LXC_TEST_TIER: "unit" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code: result.code, out: decoder.decode(result.stdout) + decoder.decode(result.stderr) };
}

Deno.test("the unit tier lists a systemTest as ignored and never runs it", async () => {
  await withTempDir(async (dir) => {
    const r = await unitTier(
      dir,
      `import { systemTest } from "${TIER}";\n` +
        `systemTest("needs root", () => { throw new Error("ran in the unit tier"); });\n`,
    );
    assert.deepEqual(r.code, 0, r.out);
    assert(/0 passed \| 0 failed \| 1 ignored/.test(r.out), r.out);
  });
});

Deno.test("the unit tier fails a plain Deno.test that reaches a system helper, naming systemTest()", async () => {
  await withTempDir(async (dir) => {
    const r = await unitTier(
      dir,
      `import { requireSystemTier } from "${TIER}";\n` +
        `Deno.test("forgot to declare", () => { requireSystemTier("LXC"); });\n`,
    );
    assert.deepEqual(r.code, 1, r.out);
    assert(r.out.includes("Cannot use LXC in the unit tier: declare the test with systemTest()"), r.out);
  });
});

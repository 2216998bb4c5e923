/**
 * The human channel: on a terminal (a pty made by script(1)) convert shows a
 * live progress view on stderr and colours the warning prefix, unless
 * NO_COLOR is set; when stderr is not a terminal it carries plain lines
 * only; stdout carries the report and nothing else either way.
 */
import assert from "node:assert/strict";
import { withTempDir } from "../_helpers/oci_builder.ts";
import { bundle, ENTRIES, type Entry, PROJECT_ROOT } from "./_cli.ts";
import { runOnTerminal } from "./_terminal.ts";

const IMAGE = `${PROJECT_ROOT}fixtures/images/busybox.oci.tar`;

/** Run convert --json with stderr on a pty (stdout to a file); returns what the terminal got and the report. */
async function onTerminal(entry: Entry, dir: string, env: Record<string, string>) {
  const args = ["convert", IMAGE, `${dir}/ct`, "--dry-run", "--json"];
  const r = await runOnTerminal(entry, args, `${dir}/report.json`, { RUST_BACKTRACE: "1", ...env });
  return { ...r, report: JSON.parse(await Deno.readTextFile(`${dir}/report.json`)) };
}

for (const entry of ENTRIES) {
  Deno.test(`[${entry}] on a terminal convert shows a live progress line and a coloured warning prefix on stderr`, async () => {
    await withTempDir(async (dir) => {
      const r = await onTerminal(entry, dir, {});
      assert.deepEqual(r.code, 0, r.terminal);
      assert.deepEqual(r.report.name, "ct", "stdout holds the report alone");
      assert(r.terminal.includes("\r\x1b[2Koci2lxc: opening the image"), JSON.stringify(r.terminal));
      // deno-lint-ignore no-control-regex -- the escape sequences are what is tested
      const total = /\r\x1b\[2Koci2lxc: applying layers {2}written [0-9.]+ [kM]?B of 1\.1 MB/;
      assert(total.test(r.terminal), JSON.stringify(r.terminal));
      // A local archive: the layer's row says what is written, nothing of downloads.
      // deno-lint-ignore no-control-regex -- the escape sequences are what is tested
      const layer = /\n\x1b\[2Klayer 1\/1 {2}(writing|done) /;
      assert(layer.test(r.terminal), JSON.stringify(r.terminal));
      assert(!r.terminal.includes("download"), JSON.stringify(r.terminal));
      assert(r.terminal.includes("\x1b[33mwarning:\x1b[0m "), JSON.stringify(r.terminal));
      // The view is cleared at the end: the last thing on the terminal is the clearing sequence (erase to the end).
      assert(r.terminal.endsWith("\r\x1b[J"), JSON.stringify(r.terminal.slice(-80)));
    });
  });

  Deno.test(`[${entry}] with NO_COLOR the terminal gets no colour, only the progress line`, async () => {
    await withTempDir(async (dir) => {
      const r = await onTerminal(entry, dir, { NO_COLOR: "1" });
      assert.deepEqual(r.code, 0, r.terminal);
      assert(r.terminal.includes("\r\x1b[2Koci2lxc: "), JSON.stringify(r.terminal));
      assert(r.terminal.includes("\nwarning: ") || r.terminal.startsWith("warning: "), JSON.stringify(r.terminal));
      // deno-lint-ignore no-control-regex -- the escape sequences are what is tested
      assert(!/\x1b\[[0-9;]*m/.test(r.terminal), JSON.stringify(r.terminal));
    });
  });

  Deno.test(`[${entry}] when stderr is not a terminal it has plain lines only, and --quiet leaves it empty`, async () => {
    await withTempDir(async (dir) => {
      const script = entry === "bundle" ? await bundle() : `${PROJECT_ROOT}main.ts`;
      const run = async (extra: string[]) => {
        const r = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", "--quiet", script, "convert", IMAGE, `${dir}/ct`, "--dry-run", "--json", ...extra],
          stdout: "piped",
          stderr: "piped",
          clearEnv: true, // no NO_COLOR: plainness must come from stderr not being a terminal
          env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", RUST_BACKTRACE: "1" },
        }).output();
        assert.deepEqual(r.code, 0);
        JSON.parse(new TextDecoder().decode(r.stdout));
        return new TextDecoder().decode(r.stderr);
      };
      const stderr = await run([]);
      assert(stderr.startsWith("warning: "), stderr);
      // deno-lint-ignore no-control-regex -- the escape sequences are what is tested
      assert(!/[\r\x1b]/.test(stderr), JSON.stringify(stderr));
      assert.deepEqual(await run(["--quiet"]), "");
    });
  });
}

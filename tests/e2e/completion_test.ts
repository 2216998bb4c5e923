/**
 * `oci2lxc completion bash` for real: the script the CLI prints is sourced in bash and its completion function is
 * called the way bash calls it (COMP_WORDS, COMP_CWORD), and what it offers comes from the parser's own tables.
 */
import assert from "node:assert/strict";
import { withTempDir } from "../_helpers/oci_builder.ts";
import { convertCommand } from "../../cli/convert_command.ts";
import { COMMON_OPTIONS } from "../../cli/commands.ts";
import { cli, ENTRIES, PROJECT_ROOT } from "./_cli.ts";

/** What `_oci2lxc` offers for the words (the last one is being completed), run in `cwd`. */
async function complete(script: string, words: string[], cwd = PROJECT_ROOT): Promise<string[]> {
  const quoted = words.map((w) => `'${w.replaceAll("'", `'\\''`)}'`).join(" ");
  const program = [
    `source '${script}'`,
    `COMP_WORDS=(${quoted})`,
    "COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))",
    "_oci2lxc",
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join("\n");
  const r = await new Deno.Command("bash", { args: ["--norc", "-c", program], cwd, stdout: "piped", stderr: "piped" })
    .output();
  const err = new TextDecoder().decode(r.stderr);
  if (!r.success || err !== "") throw new Error(`bash failed: ${err}`);
  return new TextDecoder().decode(r.stdout).split("\n").filter((l) => l !== "");
}

for (const entry of ENTRIES) {
  Deno.test(`[${entry}] completion bash completes commands, options, option values and files`, async () => {
    await withTempDir(async (dir) => {
      const printed = await cli(entry, ["completion", "bash"]);
      assert.deepEqual(printed.code, 0, printed.stderr);
      const script = `${dir}/oci2lxc.bash`;
      await Deno.writeTextFile(script, printed.stdout);

      assert.deepEqual(await complete(script, ["oci2lxc", "co"]), ["convert", "completion"]);
      assert.deepEqual(await complete(script, ["oci2lxc", "in"]), ["inspect", "install-lxc-template"]);
      // Every option of convert's table, and nothing else, for "--".
      const expected = Object.keys({ ...convertCommand.options, ...COMMON_OPTIONS }).map((n) => `--${n}`).sort();
      assert.deepEqual((await complete(script, ["oci2lxc", "convert", "IMG", "DEST", "--"])).sort(), expected);
      assert.deepEqual(await complete(script, ["oci2lxc", "convert", "--fo"]), ["--force", "--format"]);
      assert.deepEqual(await complete(script, ["oci2lxc", "convert", "--format", ""]), ["lxc", "pve"]);
      // bash splits --pve-version=9 into "--pve-version", "=", "9".
      assert.deepEqual(await complete(script, ["oci2lxc", "convert", "--pve-version", "=", "9"]), ["9.0", "9.1"]);
      assert.deepEqual(await complete(script, ["oci2lxc", "convert", "--name", ""]), []);
      assert.deepEqual(await complete(script, ["oci2lxc", "convert", "fixtures/images/busybox.oci"]), [
        "fixtures/images/busybox.oci-dir",
        "fixtures/images/busybox.oci.tar",
      ]);
      assert.deepEqual(await complete(script, ["oci2lxc", "convert", "--plugin", "examples/motd_plugin/motd_"]), [
        "examples/motd_plugin/motd_plugin.ts",
      ]);
      // A file name with a blank is one candidate (compgen's output was split at blanks), as an image or as --plugin.
      await Deno.mkdir(`${dir}/images`);
      await Deno.writeTextFile(`${dir}/images/my image.tar`, "");
      assert.deepEqual(await complete(script, ["oci2lxc", "convert", "images/my"], dir), ["images/my image.tar"]);
      assert.deepEqual(await complete(script, ["oci2lxc", "convert", "--plugin", "images/my"], dir), [
        "images/my image.tar",
      ]);
      // The commands LXC runs are not offered.
      assert.deepEqual(await complete(script, ["oci2lxc", "h"]), []);
      assert.deepEqual(await complete(script, ["oci2lxc", "lxc"]), []);

      const zsh = await cli(entry, ["completion", "zsh"]);
      assert.deepEqual(zsh.code, 2);
      assert.deepEqual(zsh.stderr.split("\n")[0], 'error: Cannot make completions for "zsh": only bash is known');
    });
  });
}

/**
 * Every example in every --help (the main one and each command's) runs and
 * exits 0: the placeholders people read (nginx.tar, /var/lib/lxc/web) are
 * swapped for fixture files and temp directories by the table below, and a
 * conversion gets --dry-run so that no example writes outside its temp dir. A `docker://` reference goes to a test
 * registry on 127.0.0.1 (plain http, so `--tls-verify=false` is added) that holds the fixture under every name the
 * examples use: no example reaches beyond this machine.
 */
import assert from "node:assert/strict";
import { withTempDir } from "../_helpers/oci_builder.ts";
import { startRegistry } from "../_helpers/registry.ts";
import { cli } from "./_cli.ts";

const FIX = "fixtures/images/";

/**
 * Placeholder → what stands in for it. Matched at the start of a word or
 * after a transport prefix, first match wins (so saved.tar.gz comes before
 * saved.tar). `$DIR` is the test's temp dir.
 */
const PLACEHOLDERS: ReadonlyArray<readonly [string, string]> = [
  ["saved.tar.gz", `${FIX}busybox.docker.tar.gz`],
  ["saved.tar", `${FIX}busybox.docker.tar`],
  ["app.tar.gz", `${FIX}busybox.docker.tar.gz`],
  ["multiarch.tar", `${FIX}busybox.multiarch.oci.tar`],
  ["nginx.tar", `${FIX}busybox.oci.tar`],
  ["./layout", `${FIX}busybox.oci-dir`],
  ["./my_plugin.ts", "examples/motd_plugin/motd_plugin.ts"],
  ["/var/lib/lxc/", "$DIR/lxc/"],
  ["/var/tmp/", "$DIR/tmp/"],
  ["/srv/app", "$DIR/srv-app"],
  ["/usr/local/share/lxc/templates", "$DIR/srv-app"],
  ["debian.tar", "$DIR/debian.tar"],
  ["busybox.tar", "$DIR/busybox.tar"],
  ["./images", "$DIR/images"],
  ["auth.json", "$DIR/auth.json"],
];

/** The repositories the registry examples name, each seeded with the busybox fixture (a multi-platform one for --all). */
const REGISTRY_NAMES = ["debian:12", "app:1.2", "busybox:latest"];

/** `docker://[HOST/]NAME` of an example, sent to the test registry at `host` instead. */
function toTestRegistry(word: string, host: string): string {
  const name = word.slice("docker://".length);
  const slash = name.indexOf("/");
  const first = slash < 0 ? "" : name.slice(0, slash);
  return `docker://${host}/${/[.:]/.test(first) ? name.slice(slash + 1) : name}`;
}

/** The example lines of one --help text. */
function examplesOf(help: string): string[] {
  const at = help.indexOf("\nExamples:\n");
  if (at < 0) return [];
  return help.slice(at + "\nExamples:\n".length).split("\n").filter((l) => l.startsWith("  oci2lxc "))
    .map((l) => l.trim());
}

/** The words of an example with placeholders swapped, and which placeholders were used. */
function substitute(example: string, dir: string, used: Set<string>, registry: string): string[] {
  assert(!/["'\\$`]/.test(example), `example needs a shell to read: ${example}`);
  return example.split(/ +/).slice(1).map((word) => {
    if (word.startsWith("docker://")) return toTestRegistry(word, registry);
    for (const [placeholder, real] of PLACEHOLDERS) {
      const at = word.indexOf(placeholder);
      if (at < 0) continue;
      const before = word.slice(0, at);
      // Only at a word's start, after a transport (oci-archive:) or as a --volume's host side.
      if (before !== "" && !/^(oci-archive|docker-archive|oci):$/.test(before)) continue;
      used.add(placeholder);
      return before + real.replace("$DIR", dir) + word.slice(at + placeholder.length);
    }
    return word;
  });
}

Deno.test("every --help example runs with fixture images and exits 0", async () => {
  await using registry = await startRegistry("http");
  for (const name of REGISTRY_NAMES) await registry.seed("busybox.multiarch.oci.tar", name, { all: true });
  const used = new Set<string>();
  const help = await cli("main.ts", ["--help"]);
  const commands = ["", ...[...help.stdout.matchAll(/^ {2}([a-z-]+) {2}/gm)].map((m) => m[1]!)];
  assert.deepEqual(commands, [
    "",
    "convert",
    "update",
    "rollback",
    "inspect",
    "verify",
    "pull",
    "plugins",
    "cache",
    "version",
    "install-lxc-template",
    "completion",
  ]);
  let ran = 0;
  for (const command of commands) {
    const text = command === "" ? help.stdout : (await cli("main.ts", [command, "--help"])).stdout;
    const examples = examplesOf(text);
    assert(examples.length > 0, `${command || "main"} --help has no examples`);
    for (const example of examples) {
      await withTempDir(async (dir) => {
        await Deno.mkdir(`${dir}/srv-app`);
        await Deno.writeTextFile(`${dir}/auth.json`, '{"auths":{}}');
        const args = substitute(example, dir, used, registry.host);
        if (args[0] === "convert" && !args.includes("--dry-run")) args.push("--dry-run");
        if (args.some((a) => a.startsWith("docker://"))) args.push("--tls-verify=false");
        // update and rollback act on a container made by convert (rollback: one that was updated once).
        if (args[0] === "update" || args[0] === "rollback") {
          const made = await cli("main.ts", ["convert", `${FIX}busybox.oci.tar`, args[1]!, "--quiet"]);
          assert.deepEqual(made.code, 0, made.stderr);
          if (args[0] === "rollback") {
            assert.deepEqual((await cli("main.ts", ["update", args[1]!, "--force", "-q"])).code, 0);
          }
        }
        const r = await cli("main.ts", args);
        assert.deepEqual(r.code, 0, `${example}\n  ran as: ${args.join(" ")}\n${r.stderr}`);
        assert(r.stdout.length > 0, `${example} printed nothing`);
        if (args.includes("--json")) JSON.parse(r.stdout);
        assert(!r.stderr.includes("error:"), `${example}: ${r.stderr}`);
        ran++;
      });
    }
  }
  assert(ran >= 15, `only ${ran} examples`);
  const unused = PLACEHOLDERS.map(([p]) => p).filter((p) => !used.has(p));
  assert.deepEqual(unused, [], "placeholders no example uses any more: drop them from the table");
});

/**
 * `deno task compile` (scripts/compile.ts) where denort cannot be had: one
 * `error: Cannot compile: …` line and a hint naming DENORT_BIN, exit 1, and
 * no binary left. Where Deno already holds denort in its cache the build
 * succeeds instead, and then the binary must run. And the permissions
 * README names for the binary are enough for every command but the hook.
 */
import assert from "node:assert/strict";
import { withTempDir } from "../_helpers/oci_builder.ts";
import { startRegistry } from "../_helpers/registry.ts";
import { bundle, PROJECT_ROOT } from "./_cli.ts";

interface Run {
  code: number;
  stderr: string;
  /** True when the run was killed for taking longer than the bound. */
  killed: boolean;
}

/** Run scripts/compile.ts with `env` (and without DENORT_BIN unless given), killed after `ms`. */
async function compile(output: string, env: Record<string, string>, ms: number): Promise<Run> {
  const childEnv: Record<string, string> = { ...Deno.env.toObject(), NO_COLOR: "1", ...env };
  if (!("DENORT_BIN" in env)) delete childEnv.DENORT_BIN;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", `${PROJECT_ROOT}scripts/compile.ts`, "--output", output],
    stdout: "null",
    stderr: "piped",
    clearEnv: true,
    env: childEnv,
  }).spawn();
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    // The whole group would be best; the child is deno, which ends its own deno compile on SIGTERM.
    child.kill("SIGTERM");
  }, ms);
  const r = await child.output();
  clearTimeout(timer);
  return { code: r.code, stderr: new TextDecoder().decode(r.stderr), killed };
}

const HINT =
  /^hint: Set DENORT_BIN=\/path\/to\/denort \(Deno [0-9.]+'s denort, unzipped from https:\/\/dl\.deno\.land\//m;

Deno.test("compile with a DENORT_BIN that does not exist says so in one error line and a hint, exit 1", async () => {
  await withTempDir(async (dir) => {
    const r = await compile(`${dir}/oci2lxc`, { DENORT_BIN: `${dir}/no/denort` }, 30_000);
    assert.deepEqual(r.code, 1, r.stderr);
    const lines = r.stderr.trimEnd().split("\n");
    assert.deepEqual(lines.length, 2, r.stderr);
    assert(
      lines[0]!.startsWith(`error: Cannot compile: DENORT_BIN=${dir}/no/denort: No such file or directory`),
      r.stderr,
    );
    assert(HINT.test(lines[1]!), r.stderr);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  });
});

Deno.test("compile with a DENORT_BIN that is not denort refuses the binary it made", async () => {
  await withTempDir(async (dir) => {
    const r = await compile(`${dir}/oci2lxc`, { DENORT_BIN: "/bin/true" }, 60_000);
    assert(!r.killed, "deno compile took more than 60 s");
    assert.deepEqual(r.code, 1, r.stderr);
    assert(
      /^error: Cannot compile: the compiled .*\/oci2lxc does not run oci2lxc \(its --version said "true/m.test(
        r.stderr,
      ),
      r.stderr,
    );
    assert(/^hint: DENORT_BIN=\/bin\/true is not a denort\. Set DENORT_BIN=/m.test(r.stderr), r.stderr);
    assert.deepEqual([...Deno.readDirSync(dir)], [], "the broken binary is removed");
  });
});

Deno.test("compile without DENORT_BIN and no way to download denort fails with the DENORT_BIN hint", async () => {
  await withTempDir(async (dir) => {
    // A proxy on a closed port: no download, wherever the test runs.
    const proxy = "http://127.0.0.1:9";
    const r = await compile(`${dir}/oci2lxc`, { HTTPS_PROXY: proxy, https_proxy: proxy, NO_PROXY: "" }, 60_000);
    assert(
      r.stderr.startsWith("compile: ") && r.stderr.includes("DENORT_BIN is not set, so deno fetches denort"),
      r.stderr,
    );
    if (r.killed) return; // deno compile hung on the download: what we print before it is all there is to check
    if (r.code === 0) {
      // Deno's cache already held denort: the binary was built, and runs.
      const v = await new Deno.Command(`${dir}/oci2lxc`, { args: ["--version"], stdout: "piped" }).output();
      assert(new TextDecoder().decode(v.stdout).startsWith("oci2lxc "));
      return;
    }
    assert.deepEqual(r.code, 1, r.stderr);
    assert(/^error: Cannot compile: denort could not be downloaded from dl\.deno\.land: .+$/m.test(r.stderr), r.stderr);
    assert(HINT.test(r.stderr), r.stderr);
    assert(!/Stack backtrace/.test(r.stderr), r.stderr);
    assert(!Deno.readDirSync(dir).some((e) => e.name === "oci2lxc"), "no binary left");
  });
});

Deno.test("the bundle runs convert, verify, inspect --plan, pull, plugins and version with only the permissions README names", async () => {
  const { NEEDED, V8_FLAGS } = await import("../../scripts/compile.ts");
  const script = await bundle();
  await using registry = await startRegistry("http");
  await registry.seed("busybox.oci.tar", "busybox:1");
  // Unverified TLS goes through node:https, which must not need more than these permissions either.
  await using tls = await startRegistry("tls-basic");
  await tls.seed("busybox.oci.tar", "busybox:1");
  const creds = `${tls.user}:${tls.password}`;
  await withTempDir(async (dir) => {
    const image = `${PROJECT_ROOT}fixtures/images/busybox.oci.tar`;
    const remote = `docker://${registry.host}/busybox:1`;
    const commands = [
      ["convert", image, `${dir}/ct`, "--quiet"],
      ["verify", image],
      ["inspect", image, "--plan"],
      ["convert", remote, `${dir}/remote`, "--quiet", "--tls-verify=false"],
      ["pull", remote, `oci-archive:${dir}/pulled.tar`, "--tls-verify=false"],
      ["inspect", `docker://${tls.host}/busybox:1`, "--tls-verify=false", "--creds", creds],
      ["plugins"],
      ["--version"],
    ];
    for (const args of commands) {
      const r = await new Deno.Command(Deno.execPath(), {
        args: ["run", ...NEEDED, ...V8_FLAGS, "--no-prompt", "--quiet", script, ...args],
        cwd: dir,
        stdout: "null",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).output();
      assert.deepEqual(r.code, 0, `${args.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
    }
    assert(Deno.statSync(`${dir}/ct/rootfs/bin/busybox`).isFile);
  });
});

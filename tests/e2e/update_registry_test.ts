/**
 * `oci2lxc update` pulls a `docker://` image the way `convert` does (cli/fetch_options.ts), from the command line
 * (main.ts and the bundle) against real registries on 127.0.0.1: a fleet sharing one `--cache-dir` downloads each new
 * blob once and no layer the old image had (the registry's access log), also for a `--format pve` output; a second
 * node updates through a pull-through `--registry-mirror` without the upstream serving a blob again; `--pull=never`
 * updates from the cache with the registry stopped, and fails with one registry error when the cache lacks the image;
 * bad fetch values are usage errors; on a terminal (script(1)'s pty), the layer rows say which layers came from the cache
 * and which were downloaded.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { EXIT_CODES } from "../../core/errors.ts";
import { run, withTempDir } from "../_helpers/oci_builder.ts";
import { startRegistry, type TestRegistry } from "../_helpers/registry.ts";
import { buildAppImages } from "../update/_app_image.ts";
import { formatBytes } from "../../cli/format_bytes.ts";
import { bundle, cli, ENTRIES, type Entry, PROJECT_ROOT } from "./_cli.ts";

/** Push the OCI layout directory `dir` (its one image) to `registry` as `ref` (`name:tag`). */
async function push(registry: TestRegistry, dir: string, ref: string): Promise<void> {
  await run([
    "skopeo",
    "copy",
    "--quiet",
    "--dest-tls-verify=false",
    `oci:${dir}:latest`,
    `docker://${registry.host}/${ref}`,
  ]);
}

/** The app's version in DEST's rootfs (1 or 2, as written by tests/update/_app_image.ts). */
function versionOf(dest: string): string {
  return Deno.readTextFileSync(join(dest, "rootfs/app/version")).trim();
}

function sorted(list: readonly string[]): string[] {
  return [...list].sort();
}

const PLAIN = ["--tls-verify=false", "--quiet"];

function quote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * Run `oci2lxc update ARGS` with stderr on a pty (script(1)), stdout to a file; the progress rows the terminal got, each
 * the text after a "clear row" up to the next control character (as tests/e2e/progress_tty_test.ts reads them).
 */
async function updateOnTerminal(entry: Entry, dir: string, args: string[]): Promise<{ code: number; rows: string[] }> {
  const script = entry === "bundle" ? await bundle() : `${PROJECT_ROOT}main.ts`;
  const argv = [Deno.execPath(), "run", "-A", "--quiet", script, "update", ...args];
  const r = await new Deno.Command("script", {
    args: ["-q", "-e", "-c", `${argv.map(quote).join(" ")} > ${quote(`${dir}/report.txt`)}`, "/dev/null"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    clearEnv: true,
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", TERM: "xterm", NO_COLOR: "1", HOME: dir },
  }).output();
  const terminal = new TextDecoder().decode(r.stdout);
  // deno-lint-ignore no-control-regex -- a row ends at the next control character
  const rows = terminal.split("\x1b[2K").map((row) => row.split(/[\r\n\x1b]/)[0]!);
  return { code: r.code, rows };
}

for (const entry of ENTRIES) {
  Deno.test(`[${entry}] update of a fleet with one --cache-dir downloads each new blob once, no shared layer`, async () => {
    await withTempDir(async (dir) => {
      const { v1, v2 } = await buildAppImages(dir);
      // The base and app layers are the same blobs in both versions: only v2's own layer and config are new.
      assert.deepEqual(v2.layerDigests.slice(0, 2), v1.layerDigests);
      await using registry = await startRegistry("http");
      await push(registry, v1.dir, "app:1");
      const cache = ["--cache-dir", join(dir, "cache")];
      const a = join(dir, "lxc/a");
      const b = join(dir, "lxc/b");
      const pve = join(dir, "pve");
      for (const [dest, extra] of [[a, []], [b, []], [pve, ["--format", "pve", "--vmid", "120"]]] as const) {
        const made = await cli(entry, [
          "convert",
          `docker://${registry.host}/app:1`,
          dest,
          ...extra,
          ...cache,
          ...PLAIN,
        ]);
        assert.deepEqual(made.code, 0, made.stderr);
      }
      const before = registry.blobGets();
      // app:2 is the new image; app:1 moves to it too, so b (updated without IMAGE) asks its recorded tag again.
      await push(registry, v2.dir, "app:2");
      await push(registry, v2.dir, "app:1");

      const updatedA = await cli(entry, ["update", a, `docker://${registry.host}/app:2`, "--json", ...cache, ...PLAIN]);
      assert.deepEqual(updatedA.code, 0, updatedA.stderr);
      const updatedB = await cli(entry, ["update", b, "--json", ...cache, "--max-parallel", "2", ...PLAIN]);
      assert.deepEqual(updatedB.code, 0, updatedB.stderr);
      for (const [dest, r] of [[a, updatedA], [b, updatedB]] as const) {
        assert.deepEqual(JSON.parse(r.stdout).changes.manifestDigest, {
          from: v1.manifestDigest,
          to: v2.manifestDigest,
        });
        assert.equal(versionOf(dest), "2", dest);
      }
      const newGets = registry.blobGets().slice(before.length);
      assert.deepEqual(sorted(newGets), sorted([v2.configDigest, v2.layerDigests[2]!]), "each new blob once, no other");

      // The Proxmox VE output takes the same options: everything is in the cache now, nothing is downloaded.
      const updatedPve = await cli(entry, ["update", pve, "--vmid", "121", "--json", ...cache, ...PLAIN]);
      assert.deepEqual(updatedPve.code, 0, updatedPve.stderr);
      assert.deepEqual(JSON.parse(updatedPve.stdout).pve.vmid, { from: 120, to: 121 });
      assert.deepEqual(registry.blobGets().slice(before.length), newGets, "the pve update downloaded no blob");
    });
  });

  Deno.test(`[${entry}] update --registry-mirror: a second node's update is served by the pull-through mirror alone`, async () => {
    await withTempDir(async (dir) => {
      const { v1, v2 } = await buildAppImages(dir);
      await using upstream = await startRegistry("http");
      await push(upstream, v1.dir, "app:1");
      await push(upstream, v2.dir, "app:2");
      await using mirror = await startRegistry("http", { proxyRemoteUrl: `http://${upstream.host}` });
      const through = ["--registry-mirror", mirror.host, ...PLAIN];
      // Two nodes: each its own container and its own blob cache, one mirror between them and the registry.
      const nodes = ["a", "b"].map((n) => ({
        dest: join(dir, `lxc/${n}`),
        cache: ["--cache-dir", join(dir, `cache-${n}`)],
      }));
      for (const { dest, cache } of nodes) {
        const made = await cli(entry, ["convert", `docker://${upstream.host}/app:1`, dest, ...cache, ...through]);
        assert.deepEqual(made.code, 0, made.stderr);
      }
      const image = `docker://${upstream.host}/app:2`;
      const first = await cli(entry, ["update", nodes[0]!.dest, image, ...nodes[0]!.cache, ...through]);
      assert.deepEqual(first.code, 0, first.stderr);
      const upstreamGets = upstream.blobGets();
      assert(upstreamGets.includes(v2.layerDigests[2]!), "the mirror fetched the new layer from the registry once");
      const second = await cli(entry, ["update", nodes[1]!.dest, image, ...nodes[1]!.cache, ...through]);
      assert.deepEqual(second.code, 0, second.stderr);
      assert(!second.stderr.includes("mirror"), `no fallback to the registry: ${second.stderr}`);
      assert.deepEqual(upstream.blobGets(), upstreamGets, "the registry served no blob for the second node");
      assert.deepEqual(mirror.blobGets().filter((d) => d === v2.layerDigests[2]), [
        v2.layerDigests[2],
        v2.layerDigests[2],
      ]);
      for (const { dest } of nodes) assert.equal(versionOf(dest), "2", dest);
    });
  });

  Deno.test(`[${entry}] update --pull=never works from the cache with the registry stopped, and fails clearly without`, async () => {
    await withTempDir(async (dir) => {
      const { v1, v2 } = await buildAppImages(dir);
      const cache = ["--cache-dir", join(dir, "cache")];
      const a = join(dir, "lxc/a");
      const b = join(dir, "lxc/b");
      let image: string;
      {
        await using registry = await startRegistry("http");
        await push(registry, v1.dir, "app:1");
        await push(registry, v2.dir, "app:2");
        image = `docker://${registry.host}/app:2`;
        for (const dest of [a, b]) {
          const made = await cli(entry, ["convert", `docker://${registry.host}/app:1`, dest, ...cache, ...PLAIN]);
          assert.deepEqual(made.code, 0, made.stderr);
        }
        // The first update pulls app:2 into the cache.
        const online = await cli(entry, ["update", a, image, ...cache, ...PLAIN]);
        assert.deepEqual(online.code, 0, online.stderr);
      }
      // The registry is gone. A cache that never saw app:2: one registry error, and b as it was.
      const empty = ["--cache-dir", join(dir, "empty-cache")];
      const missing = await cli(entry, ["update", b, image, "--pull=never", ...empty, ...PLAIN]);
      assert.deepEqual(missing.code, EXIT_CODES.registry, missing.stderr);
      const errors = missing.stderr.split("\n").filter((l) => l.startsWith("error:"));
      assert.equal(errors.length, 1, missing.stderr);
      assert.match(errors[0]!, /never pulled into .*--pull=never forbids asking the registry/);
      assert.equal(versionOf(b), "1");
      // The shared cache has it: the update needs no registry.
      const offline = await cli(entry, ["update", b, image, "--pull=never", "--json", ...cache, ...PLAIN]);
      assert.deepEqual(offline.code, 0, offline.stderr);
      assert.deepEqual(JSON.parse(offline.stdout).changes.manifestDigest, {
        from: v1.manifestDigest,
        to: v2.manifestDigest,
      });
      assert.equal(versionOf(b), "2");
    });
  });

  Deno.test(`[${entry}] update: bad fetch values are usage errors, as for convert`, async () => {
    for (
      const [bad, words] of [
        [["--max-parallel", "0"], /--max-parallel .*give a number from 1 to 64/],
        [["--pull=never", "--no-cache"], /--pull=never with --no-cache/],
        [["--registry-mirror", "http://m:5000"], /--registry-mirror .*not HOST\[:PORT\]/],
      ] as const
    ) {
      const r = await cli(entry, ["update", "/tmp/oci2lxc-never-written", "docker://127.0.0.1:1/x:1", ...bad]);
      assert.deepEqual(r.code, 2, r.stderr);
      assert.match(r.stderr, words);
    }
  });

  Deno.test(`[${entry}] update docker:// on a terminal: the shared layers' rows say 'from the cache', the new one's downloaded`, async () => {
    await withTempDir(async (dir) => {
      const { v1, v2 } = await buildAppImages(dir);
      await using registry = await startRegistry("http");
      await push(registry, v1.dir, "app:1");
      const cache = ["--cache-dir", join(dir, "cache")];
      const dest = join(dir, "lxc/a");
      const made = await cli(entry, ["convert", `docker://${registry.host}/app:1`, dest, ...cache, ...PLAIN]);
      assert.deepEqual(made.code, 0, made.stderr);
      // The tag moves: update without IMAGE asks DEST's recorded reference again. One layer at a time, so the writer
      // streams the new layer itself (nothing downloads ahead of it).
      await push(registry, v2.dir, "app:1");
      const r = await updateOnTerminal(entry, dir, [dest, ...cache, "--max-parallel", "1", "--tls-verify=false"]);
      assert.equal(r.code, 0, JSON.stringify(r.rows));
      assert.equal(versionOf(dest), "2");
      for (const i of [0, 1]) {
        const mine = r.rows.filter((row) => row.startsWith(`layer ${i + 1}/3 `));
        assert(mine.some((row) => row.includes("from the cache")), `layer ${i + 1}: ${mine.join(" | ")}`);
        assert(!mine.some((row) => row.includes("download")), `layer ${i + 1} said downloaded: ${mine.join(" | ")}`);
      }
      const size = Deno.statSync(v2.layerPaths[2]!).size;
      const last = r.rows.filter((row) => row.startsWith("layer 3/3 "));
      assert(last.some((row) => row.includes(`downloaded ${formatBytes(size)}`)), `layer 3: ${last.join(" | ")}`);
    });
  });
}

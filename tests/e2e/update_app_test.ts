/**
 * `oci2lxc update` and `rollback` with the real LXC: an app container made from v1 of an image built here, with
 * data in an in-rootfs volume and a bound host volume and config lines edited by hand, is updated to v2 (a layer
 * with a whiteout, a changed file, Env and stop signal changed, a volume dropped and one added), started, updated
 * again (nothing rewritten), refused while running, rolled back and started again, and updated with --restart.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { withTempDir } from "../_helpers/oci_builder.ts";
import { buildAppImages } from "../update/_app_image.ts";
import { type Schema, validateJson } from "../_helpers/json_schema.ts";
import { cli, ENTRIES, PROJECT_ROOT } from "./_cli.ts";
import { sh } from "./_lxc.ts";
import { waitFor } from "../_helpers/wait_for.ts";

const SCHEMA = JSON.parse(Deno.readTextFileSync(`${PROJECT_ROOT}docs/report.schema.json`));

/** Check an update or rollback report against the schema's `updateReport` (and its conversion against the root). */
function assertSchema(report: unknown): void {
  const updateSchema = { ...SCHEMA.$defs.updateReport, $defs: SCHEMA.$defs } as Schema;
  assert.deepEqual(validateJson(updateSchema, report), []);
  const conversion = (report as { conversion: unknown }).conversion;
  if (conversion !== null) assert.deepEqual(validateJson(SCHEMA as Schema, conversion), []);
}

function seen(dest: string, version: number): Promise<string> {
  return waitFor(`the app of v${version} to write what it sees`, 30_000, () => {
    try {
      return Deno.readTextFileSync(join(dest, `rootfs/data/seen-${version}`));
    } catch {
      return undefined;
    }
  });
}

function lines(text: string, prefix: string): string[] {
  return text.split("\n").filter((l) => l.startsWith(prefix)).map((l) => l.slice(prefix.length)).sort();
}

for (const entry of ENTRIES) {
  Deno.test(`[${entry}] update carries volume data, options and hand-made config lines to v2; rollback goes back`, async () => {
    await withTempDir(async (dir) => {
      const { v1, v2 } = await buildAppImages(dir);
      const lxcpath = join(dir, "lxc");
      const name = `o2l-upd-${entry === "bundle" ? "b" : "m"}-${crypto.randomUUID().slice(0, 6)}`;
      const dest = join(lxcpath, name);
      const host = join(dir, "host");
      Deno.mkdirSync(host);
      Deno.writeTextFileSync(join(host, "hostfile"), "on the host\n");
      const converted = await cli(entry, [
        "convert",
        `oci:${v1.dir}`,
        dest,
        "--volume",
        `${host}:/srv/host`,
        "--env",
        "MINE=user",
        "--quiet",
      ]);
      assert.deepEqual(converted.code, 0, converted.stderr);
      const start = () => sh(["lxc-start", "-n", name, "-P", lxcpath, "-d"]);
      // lxc-stop -k refuses a timeout (forceStop passes one), so kill it here and wait for LXC to say so.
      const stop = async () => {
        await sh(["lxc-stop", "-n", name, "-P", lxcpath, "-k"]);
        await waitFor("the container to stop", 15_000, async () => {
          const info = await sh(["lxc-info", "-n", name, "-P", lxcpath, "-s", "-H"]);
          return info.out.trim() === "STOPPED" ? true : undefined;
        });
      };
      try {
        // Data in the in-rootfs volumes, with an owner and mode of its own; a config line added and one changed.
        const mine = join(dest, "rootfs/data/mine");
        Deno.writeTextFileSync(mine, "my data\n");
        Deno.chownSync(mine, 1234, 4321);
        Deno.chmodSync(mine, 0o640);
        const mineIno = Deno.statSync(mine).ino;
        Deno.mkdirSync(join(dest, "rootfs/cache"), { recursive: true });
        Deno.writeTextFileSync(join(dest, "rootfs/cache/cached"), "cached\n");
        const config = Deno.readTextFileSync(join(dest, "config"));
        assert(config.includes("lxc.signal.halt = SIGTERM"), config);
        Deno.writeTextFileSync(
          join(dest, "config"),
          config.replace("lxc.signal.halt = SIGTERM", "lxc.signal.halt = SIGKILL") + "lxc.environment = HANDMADE=1\n",
        );

        const updated = await cli(entry, ["update", dest, `oci:${v2.dir}`, "--json", "--quiet"]);
        assert.deepEqual(updated.code, 0, updated.stderr);
        const report = JSON.parse(updated.stdout);
        assertSchema(report);
        assert.deepEqual(report.upToDate, false);
        assert.deepEqual(report.changes.manifestDigest, { from: v1.manifestDigest, to: v2.manifestDigest });
        assert.deepEqual(report.changes.configDigest, { from: v1.configDigest, to: v2.configDigest });
        assert.deepEqual(report.changes.env.added, [["NEW", "yes"]]);
        assert.deepEqual(report.changes.env.removed, ["GONE"]);
        assert.deepEqual(report.changes.env.changed, [["APP_VERSION", "1", "2"]]);
        assert.deepEqual(report.changes.stopSignal, { from: "SIGTERM", to: "SIGQUIT" });
        assert.deepEqual(report.changes.volumesAdded, ["/logs"]);
        assert.deepEqual(report.changes.volumesRemoved, ["/cache"]);
        assert.deepEqual(report.volumesCarried, ["/data"]);
        assert.deepEqual(report.volumesAside, ["/cache"]);
        assert.deepEqual(report.configKept, ["lxc.signal.halt = SIGKILL", "lxc.environment = HANDMADE=1"]);
        assert.deepEqual(report.configConflicts, [{
          key: "lxc.signal.halt",
          kept: "lxc.signal.halt = SIGKILL",
          image: "lxc.signal.halt = SIGQUIT",
        }]);
        assert.deepEqual(report.swap, "exchange");
        // Moved, not copied: the same inode, owner and mode.
        const moved = Deno.statSync(mine);
        assert.deepEqual([moved.ino, moved.uid, moved.gid, moved.mode! & 0o7777], [mineIno, 1234, 4321, 0o640]);
        assert.deepEqual(Deno.readTextFileSync(join(dest, "volumes-aside/cache/cached")), "cached\n");
        assert(Deno.statSync(join(dest, "rootfs/logs")).isDirectory, "the new volume /logs is created");

        assert.deepEqual((await start()).code, 0);
        const v2Seen = await seen(dest, 2);
        assert.deepEqual(lines(v2Seen, "version="), ["2"]);
        assert.deepEqual(lines(v2Seen, "app:"), ["new.txt", "run.sh", "version"]);
        assert.deepEqual(lines(v2Seen, "host:"), ["hostfile"]);
        const env = lines(v2Seen, "env:");
        for (const kv of ["APP_VERSION=2", "NEW=yes", "MINE=user", "HANDMADE=1"]) assert(env.includes(kv), env.join());
        assert(!env.some((kv) => kv.startsWith("GONE=")), env.join());
        assert.deepEqual(Deno.readTextFileSync(mine), "my data\n");

        // Running: refused, DEST untouched.
        const refused = await cli(entry, ["update", dest, `oci:${v2.dir}`, "--force"]);
        assert.deepEqual(refused.code, 9);
        assert(refused.stderr.includes("LXC reports the container running"), refused.stderr);
        assert(refused.stderr.includes("--restart"), refused.stderr);

        await stop();

        // The same image again: up to date, nothing rewritten.
        const configBefore = Deno.statSync(join(dest, "config"));
        const rootfsBefore = Deno.statSync(join(dest, "rootfs")).ino;
        const again = await cli(entry, ["update", dest]);
        assert.deepEqual(again.code, 0, again.stderr);
        assert(again.stdout.includes("is up to date"), again.stdout);
        assert.deepEqual(Deno.statSync(join(dest, "config")).mtime, configBefore.mtime);
        assert.deepEqual(Deno.statSync(join(dest, "rootfs")).ino, rootfsBefore);

        // Rollback: v1 again, with the data.
        const back = await cli(entry, ["rollback", dest, "--json"]);
        assert.deepEqual(back.code, 0, back.stderr);
        assertSchema(JSON.parse(back.stdout));
        assert.deepEqual(JSON.parse(back.stdout).to.manifestDigest, v1.manifestDigest);
        assert.deepEqual(Deno.statSync(mine).ino, mineIno);
        assert.deepEqual(Deno.readTextFileSync(join(dest, "rootfs/cache/cached")), "cached\n");
        assert.deepEqual((await start()).code, 0);
        const v1Seen = await seen(dest, 1);
        assert.deepEqual(lines(v1Seen, "app:"), ["old.txt", "run.sh", "version"]);
        const env1 = lines(v1Seen, "env:");
        for (const kv of ["APP_VERSION=1", "GONE=v1-only", "MINE=user", "HANDMADE=1"]) {
          assert(env1.includes(kv), env1.join());
        }

        // v1 runs again: --restart stops it, updates it to v2 and starts it.
        Deno.removeSync(join(dest, "rootfs/data/seen-2"));
        const restarted = await cli(entry, ["update", dest, `oci:${v2.dir}`, "--restart", "--json", "--quiet"]);
        assert.deepEqual(restarted.code, 0, restarted.stderr);
        assert.deepEqual(JSON.parse(restarted.stdout).restarted, true);
        assert.deepEqual(lines(await seen(dest, 2), "version="), ["2"]);
        assert.deepEqual(Deno.statSync(mine).ino, mineIno);
      } finally {
        await sh(["lxc-stop", "-n", name, "-P", lxcpath, "-k"]);
      }
    });
  });
}

Deno.test("update of a DEST without oci2lxc.json says why it cannot and what to do; rollback without a previous generation too", async () => {
  await withTempDir(async (dir) => {
    const dest = join(dir, "ct");
    Deno.mkdirSync(join(dest, "rootfs"), { recursive: true });
    Deno.writeTextFileSync(join(dest, "config"), "lxc.uts.name = ct\n");
    const r = await cli("main.ts", ["update", dest]);
    assert.deepEqual(r.code, 9);
    assert(r.stderr.includes(`error: Cannot update ${dest}: it has no oci2lxc.json`), r.stderr);
    assert(r.stderr.includes("hint: Convert it once more"), r.stderr);
    const { v1 } = await buildAppImages(dir);
    assert.deepEqual((await cli("main.ts", ["convert", `oci:${v1.dir}`, dest, "--force", "--quiet"])).code, 0);
    const back = await cli("main.ts", ["rollback", dest]);
    assert.deepEqual(back.code, 9);
    assert(back.stderr.includes(`error: Cannot roll ${dest} back: there is no previous generation`), back.stderr);
  });
});

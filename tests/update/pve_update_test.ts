/**
 * Updating a `--format pve` output: a new template and conf for a new container id beside the old ones, the conf
 * held to the Proxmox VE rules we read from pve-container (core/pve/), and the pct steps that move the old
 * container's mount points to the new one and back.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Schema, validateJson } from "../_helpers/json_schema.ts";
import { withTempDir } from "../_helpers/oci_builder.ts";
import { parsePveTarget } from "../../core/pve/pve_target.ts";
import { pveLxcKeyProblem } from "../../core/pve/pve_lxc_keys.ts";
import { cli, PROJECT_ROOT } from "../e2e/_cli.ts";
import { buildAppImages } from "./_app_image.ts";
import { systemTest } from "../_helpers/tier.ts";

systemTest(
  "update of a --format pve output writes a new template and conf for --vmid and the pct steps to move the data",
  async () => {
    await withTempDir(async (dir) => {
      const { v1, v2 } = await buildAppImages(dir);
      const out = join(dir, "out");
      const made = await cli("main.ts", [
        "convert",
        `oci:${v1.dir}`,
        out,
        "--format",
        "pve",
        "--vmid",
        "120",
        "--quiet",
      ]);
      assert.deepEqual(made.code, 0, made.stderr);
      assert(Deno.statSync(join(out, "120.oci2lxc.json")).isFile);

      const noId = await cli("main.ts", ["update", out, `oci:${v2.dir}`]);
      assert.deepEqual(noId.code, 2);
      assert(noId.stderr.includes("without a new id"), noId.stderr);

      const r = await cli("main.ts", ["update", out, `oci:${v2.dir}`, "--vmid", "121", "--json", "--quiet"]);
      assert.deepEqual(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout);
      const schema = JSON.parse(Deno.readTextFileSync(`${PROJECT_ROOT}docs/report.schema.json`));
      assert.deepEqual(validateJson({ ...schema.$defs.updateReport, $defs: schema.$defs } as Schema, report), []);
      assert.deepEqual(report.changes.manifestDigest, { from: v1.manifestDigest, to: v2.manifestDigest });
      assert.deepEqual(report.pve.vmid, { from: 120, to: 121 });
      assert.deepEqual(report.pve.steps.slice(-5), [
        "# carry over what you changed in /etc/pve/lxc/120.conf by hand (pct config 120)",
        "pct stop 120",
        "pct move-volume 120 mp0 --target-vmid 121 --target-volume mp0   # /data: check the mp number with 'pct config 120'",
        "pct move-volume 120 mp1 --target-vmid 121 --target-volume mp1   # /cache: check the mp number with 'pct config 120'",
        "pct start 121",
      ]);
      assert.deepEqual(report.pve.rollback[0], "pct stop 121");
      // The old conf stays; the new one follows the same rules as any conf we write.
      assert(Deno.statSync(join(out, "120.conf")).isFile);
      const conf = Deno.readTextFileSync(join(out, "121.conf"));
      const target = parsePveTarget("8");
      for (const line of conf.split("\n").filter((l) => l.startsWith("lxc."))) {
        const key = line.slice(0, line.indexOf(":"));
        assert.deepEqual(pveLxcKeyProblem(key, target), undefined, line);
      }
      assert(conf.includes("APP_VERSION=2"), conf);

      const again = await cli("main.ts", ["update", out, "--vmid", "122"]);
      assert.deepEqual(again.code, 0, again.stderr);
      assert(again.stdout.includes("is up to date"), again.stdout);
    });
  },
);

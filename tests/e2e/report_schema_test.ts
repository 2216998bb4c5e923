/**
 * The JSON report of real conversions, dry runs and `inspect --plan` of the
 * fixture images validates against docs/report.schema.json, and lists every
 * field of each image's config with what became of it.
 */
import assert from "node:assert/strict";
import { type Schema, validateJson } from "../_helpers/json_schema.ts";
import { withTempDir } from "../_helpers/oci_builder.ts";
import { cli, ENTRIES, PROJECT_ROOT } from "./_cli.ts";
import { STAGE_NAMES } from "../../core/pipeline/stage_names.ts";

const FIX = "fixtures/images/";
const IMAGES = ["busybox", "hardcases", "whiteouts"];
const STATUSES = ["mapped", "overridden", "defaulted", "dropped"];
const schema = JSON.parse(Deno.readTextFileSync(`${PROJECT_ROOT}docs/report.schema.json`)) as Schema;

/** Assert `report` is valid and accounts for every key of the image's config. */
function assertReport(report: Record<string, unknown>, configKeys: string[], what: string): void {
  assert.deepEqual(validateJson(schema, report), [], `${what}: report does not match the schema`);
  const fields = report.fields as Array<{ field: string; status: string }>;
  const byName = new Map(fields.map((f) => [f.field, f.status]));
  for (const key of configKeys) {
    assert(byName.has(key), `${what}: config field ${key} is not in the report`);
    assert(STATUSES.includes(byName.get(key)!), `${what}: ${key} has status ${byName.get(key)}`);
    assert(byName.get(key) !== "defaulted", `${what}: ${key} is set in the image, yet reported as defaulted`);
  }
  for (const f of fields) {
    if (!configKeys.includes(f.field)) {
      assert.deepEqual(f.status, "defaulted", `${what}: ${f.field} is not in the image config but is ${f.status}`);
    }
  }
}

async function configKeys(image: string): Promise<string[]> {
  const r = await cli("main.ts", ["inspect", `${FIX}${image}.oci.tar`, "--json"]);
  assert.deepEqual(r.code, 0, r.stderr);
  const keys = Object.keys(JSON.parse(r.stdout).config.fields);
  assert(keys.length >= 8, `${image}: only ${keys.length} config fields`);
  return keys;
}

for (const entry of ENTRIES) {
  for (const image of IMAGES) {
    Deno.test(`[${entry}] convert --json and --dry-run --json of ${image}.oci.tar match the schema and list every config field`, async () => {
      const keys = await configKeys(image);
      await withTempDir(async (dir) => {
        const real = await cli(entry, ["convert", `${FIX}${image}.oci.tar`, `${dir}/real`, "--json", "-q"]);
        assert.deepEqual(real.code, 0, real.stderr);
        const report = JSON.parse(real.stdout);
        assertReport(report, keys, `${image} convert`);
        assert.deepEqual(report.dryRun, false);
        assert.deepEqual(report.paths.config, `${dir}/real/config`);
        assert(Deno.statSync(report.paths.config).isFile);
        assert(report.timings.commit >= 0 && report.bytesRead > 0 && report.bytesWritten > 0);

        // Overrides show as such in the same report.
        const dry = await cli(entry, [
          "convert",
          `${FIX}${image}.oci.tar`,
          `${dir}/dry`,
          "--dry-run",
          "--json",
          "-q",
          "--user",
          "0:0",
          "--entrypoint",
          '["/bin/sh"]',
        ]);
        assert.deepEqual(dry.code, 0, dry.stderr);
        const plan = JSON.parse(dry.stdout);
        assertReport(plan, keys, `${image} --dry-run`);
        assert.deepEqual(plan.dryRun, true);
        const status = (name: string) => plan.fields.find((f: { field: string }) => f.field === name)?.status;
        assert.deepEqual([status("User"), status("Entrypoint")], ["overridden", "overridden"]);
        assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["real"], "the dry run left nothing");
      });
    });
  }

  Deno.test(`[${entry}] inspect --plan --json matches the schema, with paths relative to the container name`, async () => {
    const keys = await configKeys("hardcases");
    const r = await cli(entry, ["inspect", `oci-archive:${FIX}hardcases.oci.tar`, "--plan", "--json"]);
    assert.deepEqual(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assertReport(report, keys, "inspect --plan");
    assert.deepEqual([report.name, report.dryRun, report.paths.rootfs], ["hardcases", true, "hardcases/rootfs"]);
  });
}

Deno.test("the report schema rejects an unknown field, a missing field and an unknown status", () => {
  const report = {
    schemaVersion: 1,
    reference: "x",
    dest: "/x",
    name: "x",
    dryRun: true,
    image: {
      transport: "oci",
      refName: null,
      platform: "linux/amd64",
      manifestDigest: "sha256:aa",
      configDigest: "sha256:bb",
      layers: [],
      reordered: false,
    },
    container: {
      kind: "app",
      argv: ["/bin/sh"],
      env: [["A", "b"]],
      user: { uid: 0, gid: 0, groups: [], name: null, home: "/" },
      cwd: "/",
      stopSignal: "SIGTERM",
      network: [],
      mounts: [],
      volumes: [],
      idmap: null,
    },
    fields: [{ field: "Cmd", status: "mapped", to: "lxc.init.cmd" }],
    distro: { id: "unmanaged", like: [], families: [] },
    plugins: [],
    warnings: [],
    rootfs: { entries: 0, files: 0, bytes: 0, directories: 0, symlinks: 0, hardlinks: 0, devices: 0, whiteouts: 0 },
    paths: { dest: "/x", config: "/x/config", rootfs: "/x/rootfs" },
    timings: { open: 0, assemble: 0, plan: 0, setup: 0, configure: 0, commit: 0, total: 0 },
    bytesRead: 0,
    bytesWritten: 0,
    layerReader: "thread",
  };
  assert.deepEqual(validateJson(schema, report), []);
  const broken = structuredClone(report) as Record<string, unknown> & typeof report;
  broken.extra = 1;
  delete (broken as Partial<typeof report>).warnings;
  broken.fields = [{ field: "Cmd", status: "lost", to: "lxc.init.cmd" }];
  broken.container.env = [["A"]] as unknown as [string, string][];
  assert.deepEqual(validateJson(schema, broken), [
    '/: required property "warnings" is missing',
    "/container/env/0: 1 items, fewer than 2",
    '/fields/0/status: "lost" is not one of ["mapped","overridden","defaulted","dropped"]',
    "/extra: property is not allowed",
  ]);
});

Deno.test("the schema's timings are the stage names and total, and a real report has each of them", async () => {
  const raw = JSON.parse(Deno.readTextFileSync(`${PROJECT_ROOT}docs/report.schema.json`));
  assert.deepEqual(Object.keys(raw.properties.timings.properties), [...STAGE_NAMES, "total"]);
  await withTempDir(async (dir) => {
    const r = await cli("main.ts", ["convert", `${FIX}busybox.oci.tar`, `${dir}/ct`, "--json", "-q"]);
    assert.deepEqual(r.code, 0, r.stderr);
    assert.deepEqual(Object.keys(JSON.parse(r.stdout).timings), [...STAGE_NAMES, "total"]);
  });
});

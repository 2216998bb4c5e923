/**
 * `convert`, `inspect` and `verify` of `docker://` images end to end, from main.ts and from the bundle, against a real
 * registry: TLS + Basic auth with the password on standard input (never printed), a rootfs equal to the fixture's,
 * inspect without a layer download (the registry's access log), verify; refused credentials as one error naming the
 * registry and repository (exit 10, nothing at DEST); Ctrl-C while a layer streams (held by the fault proxy, so the
 * signal surely arrives mid-layer): exit 130, neither DEST nor a staging directory left.
 */
import assert from "node:assert/strict";
import { convert } from "../../core/api.ts";
import { fsManifest } from "../../core/rootfs/fs_manifest.ts";
import { type Schema, validateJson } from "../_helpers/json_schema.ts";
import { FaultProxy } from "../_helpers/fault_proxy.ts";
import { withTempDir } from "../_helpers/oci_builder.ts";
import { startRegistry } from "../_helpers/registry.ts";
import { ENTRIES, spawnCli } from "./_cli.ts";
import { cliWithStdin } from "./_registry_cli.ts";

const FIXTURE = new URL("../../fixtures/images/busybox.oci.tar", import.meta.url).pathname;
const SCHEMA = new URL("../../docs/report.schema.json", import.meta.url).pathname;
const LAYER = "sha256:1e1101c055c7e933c198d9ef792d219c800dc59657fdb082e3fdd929a1e531f9";
const BUSYBOX_CONFIG = "sha256:3413ea0cd15531b72d0fc837fdcc972795603e6d06366bbefe65cb9358b706e9";

for (const entry of ENTRIES) {
  Deno.test(`[${entry}] convert, inspect and verify docker:// with TLS, Basic auth and --password-stdin`, async () => {
    await using registry = await startRegistry("tls-basic");
    await registry.seed("busybox.oci.tar", "busybox:1");
    await withTempDir(async (dir) => {
      const home = await Deno.makeTempDir({ prefix: "oci2lxc-home-" });
      try {
        const image = `docker://${registry.host}/busybox:1`;
        // A cache of its own: what the default one holds from other runs would spare the downloads counted here.
        const access = [
          "--cert-dir",
          registry.certDir!,
          "--creds",
          registry.user,
          "--password-stdin",
          "--cache-dir",
          `${home}/cache`,
        ];
        const password = `${registry.password}\n`;
        const platform = ["--platform", "linux/amd64"];

        const before = registry.blobGets().length;
        const inspected = await cliWithStdin(
          entry,
          ["inspect", image, ...platform, "--json", ...access],
          password,
          home,
        );
        assert.deepEqual(inspected.code, 0, inspected.stderr);
        assert.deepEqual(JSON.parse(inspected.stdout).config.digest, BUSYBOX_CONFIG);
        assert.deepEqual(registry.blobGets().slice(before), [BUSYBOX_CONFIG], "inspect fetches no layer");

        const verified = await cliWithStdin(entry, ["verify", image, ...platform, ...access], password, home);
        assert.deepEqual(verified.code, 0, verified.stderr);
        assert(verified.stdout.includes(`layer 1: ${LAYER} ok`), verified.stdout);

        const args = ["convert", image, `${dir}/ct`, ...platform, "--quiet", "--json", ...access];
        const converted = await cliWithStdin(entry, args, password, home);
        assert.deepEqual(converted.code, 0, converted.stderr);
        const report = JSON.parse(converted.stdout);
        assert.deepEqual(report.image.transport, "docker");
        const schema = JSON.parse(await Deno.readTextFile(SCHEMA)) as Schema;
        assert.deepEqual(validateJson(schema, report), [], "the report matches docs/report.schema.json");
        await convert(`oci-archive:${FIXTURE}`, `${dir}/fixture`, { platform: "linux/amd64" });
        assert.deepEqual(fsManifest(`${dir}/ct/rootfs`), fsManifest(`${dir}/fixture/rootfs`));
        for (const r of [inspected, verified, converted]) {
          assert(!`${r.stdout}${r.stderr}`.includes(registry.password), "the password is never printed");
        }

        // A wrong password: one error naming the registry and the repository, exit 10, nothing at DEST.
        const denied = await cliWithStdin(entry, ["convert", image, `${dir}/denied`, ...access], "wrong\n", home);
        assert.deepEqual(denied.code, 10, denied.stderr);
        assert(/^error: Cannot .*127\.0\.0\.1:\d+\/busybox.*other credentials/m.test(denied.stderr), denied.stderr);
        assert(!denied.stderr.includes("wrong"), denied.stderr);
        assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["ct", "fixture"]);
      } finally {
        await Deno.remove(home, { recursive: true });
      }
    });
  });

  Deno.test(`[${entry}] Ctrl-C while convert streams a layer from a registry exits 130 and leaves nothing`, async () => {
    await using registry = await startRegistry("http");
    await registry.seed("busybox.oci.tar", "busybox:1");
    await using proxy = new FaultProxy(registry.host);
    proxy.add({ match: new RegExp(`^GET /v2/busybox/blobs/${LAYER}$`), fault: { kind: "stall", after: 100_000 } });
    await withTempDir(async (dir) => {
      const child = await spawnCli(entry, [
        "convert",
        `docker://${proxy.host}/busybox:1`,
        `${dir}/ct`,
        "--tls-verify=false",
        "--platform",
        "linux/amd64",
        "--quiet",
        // The layer must stream from the proxy (a cached copy would be read instead).
        "--no-cache",
      ]);
      await proxy.stalled;
      child.kill("SIGINT");
      const out = await child.output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.deepEqual(out.code, 130, stderr);
      assert(/^error: Cannot .*interrupted/m.test(stderr), stderr);
      assert.deepEqual([...Deno.readDirSync(dir)], []);
    });
  });
}

/**
 * `oci2lxc pull` end to end, from main.ts and from the bundle, against a real registry: token auth with the password on
 * standard input (never echoed), the copy read by skopeo, `--json`; and Ctrl-C while a layer streams (the fault proxy
 * holds the layer's response, so the signal surely arrives mid-layer): exit 130, nothing at TARGET.
 */
import assert from "node:assert/strict";
import { FaultProxy } from "../_helpers/fault_proxy.ts";
import { withTempDir } from "../_helpers/oci_builder.ts";
import { startRegistry } from "../_helpers/registry.ts";
import { ENTRIES, spawnCli } from "./_cli.ts";
import { cliWithStdin } from "./_registry_cli.ts";

const LAYER = "sha256:1e1101c055c7e933c198d9ef792d219c800dc59657fdb082e3fdd929a1e531f9";
const BUSYBOX_MANIFEST = "sha256:91cb23fa479875d403f40e75523c3e3684e46fc6a4a4432d9ad9fef128793094";

for (const entry of ENTRIES) {
  Deno.test(`[${entry}] pull with token auth and --password-stdin writes an archive skopeo reads`, async () => {
    await using registry = await startRegistry("token");
    await registry.seed("busybox.oci.tar", "busybox:1");
    await withTempDir(async (dir) => {
      const home = await Deno.makeTempDir({ prefix: "oci2lxc-home-" });
      const args = [
        "pull",
        `docker://${registry.host}/busybox:1`,
        `oci-archive:${dir}/b.tar`,
        "--cert-dir",
        registry.certDir!,
        "--creds",
        registry.user,
        "--password-stdin",
        "--platform",
        "linux/amd64",
        "--json",
      ];
      const r = await cliWithStdin(entry, args, `${registry.password}\n`, home);
      assert.deepEqual(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout);
      assert.deepEqual(report.digest, BUSYBOX_MANIFEST);
      assert.deepEqual(report.refName, "1");
      assert(!`${r.stdout}${r.stderr}`.includes(registry.password), "the password is never printed");
      const inspect = await new Deno.Command("skopeo", { args: ["inspect", `oci-archive:${dir}/b.tar:1`] }).output();
      assert(inspect.success, new TextDecoder().decode(inspect.stderr));
      // b.tar exists now: replaced only with --force (it is an OCI archive, so --force alone will do).
      const again = await cliWithStdin(entry, [...args.slice(0, 5), "--json"], "", home);
      assert(/^error: Cannot write \S+\/b\.tar": it already exists$/m.test(again.stderr), again.stderr);
      assert(/^hint: Use --force to replace it/m.test(again.stderr), again.stderr);
      // Without the password: one clear error naming the registry, exit 10, the archive as it was.
      const denied = await cliWithStdin(entry, [...args.slice(0, 5), "--force", "--json"], "", home);
      assert.deepEqual(denied.code, 10, denied.stderr);
      assert(/^error: Cannot .*127\.0\.0\.1:\d+.*busybox/m.test(denied.stderr), denied.stderr);
      assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["b.tar"]);
      await Deno.remove(home, { recursive: true });
    });
  });

  Deno.test(`[${entry}] Ctrl-C while pull streams a layer exits 130 and leaves nothing at TARGET`, async () => {
    await using registry = await startRegistry("http");
    await registry.seed("busybox.oci.tar", "busybox:1");
    await using proxy = new FaultProxy(registry.host);
    proxy.add({ match: new RegExp(`^GET /v2/busybox/blobs/${LAYER}$`), fault: { kind: "stall", after: 100_000 } });
    await withTempDir(async (dir) => {
      const child = await spawnCli(entry, [
        "pull",
        `docker://${proxy.host}/busybox:1`,
        `oci-archive:${dir}/b.tar`,
        "--tls-verify=false",
        "--platform",
        "linux/amd64",
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

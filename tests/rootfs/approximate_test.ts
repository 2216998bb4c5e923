import assert from "node:assert/strict";
import { fsManifest } from "../../core/rootfs/fs_manifest.ts";

import { systemTest } from "../_helpers/tier.ts";

// A system test: it needs root to drop to an unprivileged user with setpriv (util-linux).
systemTest({
  name: "RootfsWriter in approximate mode works as an unprivileged user, even through 0000 directories",
  fn() {
    const base = Deno.makeTempDirSync({ prefix: "oci2lxc-approx-" });
    try {
      Deno.chmodSync(base, 0o777);
      const child = new URL("./_approximate_child.ts", import.meta.url).pathname;
      const out = new Deno.Command("setpriv", {
        args: [
          "--reuid=65534",
          "--regid=65534",
          "--clear-groups",
          Deno.execPath(),
          "run",
          "-A",
          child,
          `${base}/rootfs`,
        ],
        env: { DENO_DIR: `${base}/deno`, HOME: base },
        stdout: "piped",
        stderr: "piped",
      }).outputSync();
      const stdout = new TextDecoder().decode(out.stdout);
      if (!out.success) {
        throw new Error(
          `child failed: ${new TextDecoder().decode(out.stderr)}`,
        );
      }
      assert.deepEqual(JSON.parse(stdout), [
        "ownership-skipped",
        "xattr-skipped",
        "device-skipped",
      ]);
      const lines = fsManifest(`${base}/rootfs`).trim().split("\n").map((l) => l.replace(/ sha256=\w+/, ""));
      assert.deepEqual(lines, [
        "/ dir 0755 65534 65534",
        "/dev dir 0755 65534 65534",
        "/fifo fifo 0640 65534 65534",
        "/l symlink 0777 65534 65534 target=x",
        "/locked dir 0000 65534 65534",
        "/locked/f file 0644 65534 65534 size=1 xattr.user.ok=31",
        "/locked/g file 0644 65534 65534 size=1",
        "/ro dir 0555 65534 65534",
        "/ro/f file 0644 65534 65534 size=1",
        "/ro/h file 0644 65534 65534 size=1",
      ]);
    } finally {
      Deno.removeSync(base, { recursive: true });
    }
  },
});

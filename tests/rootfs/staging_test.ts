import assert from "node:assert/strict";
import { Oci2LxcError } from "../../core/errors.ts";
import { createStaging } from "../../core/rootfs/staging.ts";
import { apply, dir, file, ls, lstat, symlink } from "./_layers.ts";
import { systemTest } from "../_helpers/tier.ts";

function withBase(fn: (base: string) => void): void {
  const base = Deno.makeTempDirSync({ prefix: "oci2lxc-staging-" });
  try {
    fn(base);
  } finally {
    Deno.removeSync(base, { recursive: true });
  }
}

async function withBaseAsync(fn: (base: string) => Promise<void>): Promise<void> {
  const base = Deno.makeTempDirSync({ prefix: "oci2lxc-staging-" });
  try {
    await fn(base);
  } finally {
    Deno.removeSync(base, { recursive: true });
  }
}

Deno.test("createStaging makes an empty 0700 directory beside DEST, creating DEST's parent", () => {
  withBase((base) => {
    const staging = createStaging(`${base}/lxc/ct1`);
    const name = staging.path.slice(staging.path.lastIndexOf("/") + 1);
    assert(new RegExp(`^\\.ct1\\.oci2lxc-staging-${Deno.pid}-\\d+-[0-9a-f]{8}$`).test(name), name);
    assert.deepEqual(
      staging.path.slice(0, staging.path.lastIndexOf("/")),
      Deno.realPathSync(`${base}/lxc`),
    );
    assert.deepEqual(Deno.statSync(staging.path).mode! & 0o7777, 0o700);
    assert.deepEqual(ls(staging.path), []);
    staging.abort();
    assert.deepEqual(ls(`${base}/lxc`), []);
  });
});

Deno.test("Staging.commit renames the staging directory into a missing DEST with mode 0755", async () => {
  await withBaseAsync(async (base) => {
    const staging = createStaging(`${base}/ct`);
    Deno.writeTextFileSync(`${staging.path}/config`, "x");
    await staging.commit(false);
    assert.deepEqual(ls(base), ["ct"]);
    assert.deepEqual(Deno.readTextFileSync(`${base}/ct/config`), "x");
    assert.deepEqual(Deno.statSync(`${base}/ct`).mode! & 0o7777, 0o755);
    staging.abort(); // after commit: nothing to do
    assert.deepEqual(ls(base), ["ct"]);
  });
});

Deno.test("Staging.commit refuses an existing DEST without force and leaves both in place", async () => {
  await withBaseAsync(async (base) => {
    Deno.mkdirSync(`${base}/ct`);
    Deno.writeTextFileSync(`${base}/ct/old`, "old");
    const staging = createStaging(`${base}/ct`);
    const err = await staging.commit(false).then(() => undefined, (e: Error) => e);
    assert(err && /^Cannot write .*\/ct: it already exists$/.test(err.message), String(err));
    assert(
      err instanceof Oci2LxcError && err.code === "destination" &&
        err.hint === "Use --force to replace it",
    );
    assert.deepEqual(Deno.readTextFileSync(`${base}/ct/old`), "old");
    staging.abort();
    assert.deepEqual(ls(base), ["ct"]);
  });
});

Deno.test("Staging.commit with force swaps DEST in and removes the old tree completely", async () => {
  await withBaseAsync(async (base) => {
    Deno.mkdirSync(`${base}/ct/rootfs/etc`, { recursive: true });
    Deno.writeTextFileSync(`${base}/ct/rootfs/etc/old`, "old");
    Deno.chmodSync(`${base}/ct/rootfs/etc`, 0);
    const staging = createStaging(`${base}/ct`);
    Deno.writeTextFileSync(`${staging.path}/new`, "new");
    assert.deepEqual(await staging.commit(true), {});
    assert.deepEqual(ls(base), ["ct"]);
    assert.deepEqual(ls(`${base}/ct`), ["new"]);
  });
});

systemTest("Staging.abort removes a rootfs with 0000 directories, odd names, symlinks out and deep nesting", () => {
  withBase((base) => {
    Deno.mkdirSync(`${base}/outside`);
    Deno.writeTextFileSync(`${base}/outside/keep`, "keep");
    const staging = createStaging(`${base}/ct`);
    const deep = Array.from({ length: 300 }, () => "d").join("/");
    apply(`${staging.path}/rootfs`, [[
      dir("locked", { mode: 0 }),
      dir("locked/inner", { mode: 0 }),
      file("locked/inner/f", "x", { mode: 0 }),
      file(new Uint8Array([0xff, 0x0a, 0x5c]), "odd"),
      symlink("out", "../../outside"),
      symlink("abs", `${base}/outside`),
      file(`${deep}/leaf`, "deep"),
    ]]);
    staging.abort();
    assert.deepEqual(ls(base), ["outside"]);
    assert.deepEqual(Deno.readTextFileSync(`${base}/outside/keep`), "keep");
    assert.deepEqual(lstat(staging.path), null);
    staging.abort(); // twice is fine
  });
});

Deno.test("createStaging rejects a DEST that names no entry", () => {
  assert.throws(() => createStaging("/"), { message: /Cannot use \/ as destination/ });
});

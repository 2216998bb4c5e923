import assert from "node:assert/strict";
import { acquireDestLock } from "../../core/rootfs/dest_lock.ts";
import { withTempDir } from "../_helpers/oci_builder.ts";

function ls(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

Deno.test("acquireDestLock: a second lock on the same DEST fails at once naming the holder; another DEST is free", async () => {
  await withTempDir(async (dir) => {
    const first = await acquireDestLock(dir, "ct");
    assert.deepEqual(Deno.readTextFileSync(first.path), `${Deno.pid}\n`);
    await assert.rejects(() => acquireDestLock(dir, "ct"), {
      name: "Oci2LxcError",
      message: `Cannot convert into ${dir}/ct: another oci2lxc (PID ${Deno.pid}) is converting into it`,
      code: "destination",
    });
    const other = await acquireDestLock(dir, "web");
    other.release();
    first.release();
    first.release(); // twice is fine
    assert.deepEqual(ls(dir), [], "the lock file goes with its holder");
  });
});

Deno.test("acquireDestLock with wait takes the lock once the holder lets go, and a stale lock file is reused", async () => {
  await withTempDir(async (dir) => {
    // Left by a killed run: the file stays, the kernel dropped its lock.
    Deno.writeTextFileSync(`${dir}/.ct.oci2lxc-lock`, "999999999\n");
    const first = await acquireDestLock(dir, "ct");
    let waited = "";
    const second = acquireDestLock(dir, "ct", { wait: true, onWait: (holder) => (waited = holder) });
    // Its first try runs within the call: it has found the lock held and waits on a timer.
    assert.deepEqual(waited, `PID ${Deno.pid}`);
    first.release(); // removes the file the waiter may have open: it must lock the new one
    const lock = await second;
    assert.deepEqual(ls(dir), [".ct.oci2lxc-lock"]);
    const third = await acquireDestLock(dir, "ct").then(() => "got it", (e: Error) => e.message);
    assert(third.includes("is converting into it"), third);
    lock.release();
    assert.deepEqual(ls(dir), []);
  });
});

Deno.test("acquireDestLock with wait stops when the signal aborts", async () => {
  await withTempDir(async (dir) => {
    const first = await acquireDestLock(dir, "ct");
    const controller = new AbortController();
    const waiting = acquireDestLock(dir, "ct", { wait: true, signal: controller.signal });
    controller.abort();
    await assert.rejects(() => waiting, { name: "Oci2LxcError", code: "interrupted" });
    first.release();
  });
});

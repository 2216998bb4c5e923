import { Oci2LxcError } from "../../core/errors.ts";
import { acquireDestLock } from "../../core/rootfs/dest_lock.ts";
import { assert, assertEquals, assertRejects } from "../_helpers/assert.ts";
import { withTempDir } from "../_helpers/oci_builder.ts";

function ls(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

Deno.test("acquireDestLock: a second lock on the same DEST fails at once naming the holder; another DEST is free", async () => {
  await withTempDir(async (dir) => {
    const first = await acquireDestLock(dir, "ct");
    assertEquals(Deno.readTextFileSync(first.path), `${Deno.pid}\n`);
    const err = await assertRejects(() => acquireDestLock(dir, "ct"), Oci2LxcError);
    assertEquals(err.message, `Cannot convert into ${dir}/ct: another oci2lxc (PID ${Deno.pid}) is converting into it`);
    assertEquals((err as Oci2LxcError).code, "destination");
    const other = await acquireDestLock(dir, "web");
    other.release();
    first.release();
    first.release(); // twice is fine
    assertEquals(ls(dir), [], "the lock file goes with its holder");
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
    assertEquals(waited, `PID ${Deno.pid}`);
    first.release(); // removes the file the waiter may have open: it must lock the new one
    const lock = await second;
    assertEquals(ls(dir), [".ct.oci2lxc-lock"]);
    const third = await acquireDestLock(dir, "ct").then(() => "got it", (e: Error) => e.message);
    assert(third.includes("is converting into it"), third);
    lock.release();
    assertEquals(ls(dir), []);
  });
});

Deno.test("acquireDestLock with wait stops when the signal aborts", async () => {
  await withTempDir(async (dir) => {
    const first = await acquireDestLock(dir, "ct");
    const controller = new AbortController();
    const waiting = acquireDestLock(dir, "ct", { wait: true, signal: controller.signal });
    controller.abort();
    const err = await assertRejects(() => waiting, Oci2LxcError);
    assertEquals((err as Oci2LxcError).code, "interrupted");
    first.release();
  });
});

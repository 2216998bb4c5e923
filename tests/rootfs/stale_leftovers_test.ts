/**
 * What cleanStaleLeftovers does with what dead runs left beside DEST, where the end-to-end tests
 * (tests/e2e/dest_safety_test.ts) cannot make the moment happen: a kill between the two renames of a commit on a
 * filesystem without RENAME_EXCHANGE (ZFS before 2.2), which leaves no DEST, the old one moved aside as `….old` and
 * the new one complete in its staging directory.
 */
import { cleanStaleLeftovers } from "../../core/rootfs/stale_leftovers.ts";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { withTempDir } from "../_helpers/oci_builder.ts";

function ls(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

Deno.test("cleanStaleLeftovers puts the old DEST back when a kill came between moving it aside and moving the new one in", async () => {
  await withTempDir(async (dir) => {
    const staging = `${dir}/.ct.oci2lxc-staging-999999-1-0badcafe`;
    Deno.mkdirSync(`${staging}/rootfs`, { recursive: true });
    Deno.writeTextFileSync(`${staging}/config`, "new\n");
    Deno.mkdirSync(`${staging}.old/rootfs`, { recursive: true });
    Deno.writeTextFileSync(`${staging}.old/config`, "old\n");
    const warnings = await cleanStaleLeftovers(dir, "ct");
    assertEquals(ls(dir), ["ct"]);
    assertEquals(Deno.readTextFileSync(`${dir}/ct/config`), "old\n", "the old container, which was in use, is back");
    assert(warnings.some((w) => w.startsWith(`restored ${dir}/ct from ${staging}.old`)), warnings.join("\n"));
    assert(warnings.some((w) => w.startsWith(`removed ${staging}, a staging directory`)), warnings.join("\n"));
  });
});

Deno.test("cleanStaleLeftovers removes an old DEST moved aside when DEST is in place", async () => {
  await withTempDir(async (dir) => {
    const staging = `${dir}/.ct.oci2lxc-staging-999999-1-0badcafe`;
    Deno.mkdirSync(`${staging}.old/rootfs`, { recursive: true });
    Deno.mkdirSync(`${dir}/ct/rootfs`, { recursive: true });
    const warnings = await cleanStaleLeftovers(dir, "ct");
    assertEquals(ls(dir), ["ct"]);
    assertEquals(warnings.length, 1, warnings.join("\n"));
    assert(warnings[0]!.startsWith(`removed ${staging}.old, a staging directory`), warnings[0]);
  });
});

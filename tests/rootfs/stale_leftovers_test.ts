/**
 * What cleanStaleLeftovers does with what dead runs left beside DEST, where the end-to-end tests
 * (tests/e2e/dest_safety_test.ts) cannot make the moment happen: a kill between the two renames of a commit on a
 * filesystem without RENAME_EXCHANGE (ZFS before 2.2), which leaves no DEST, the old one moved aside as `….old` and
 * the new one complete in its staging directory.
 */
import assert from "node:assert/strict";
import { openImage } from "../../core/image/source.ts";
import { parseReference } from "../../core/reference.ts";
import { ownerTag } from "../../core/rootfs/owner_tag.ts";
import { cleanStaleLeftovers } from "../../core/rootfs/stale_leftovers.ts";
import { withTempDir } from "../_helpers/oci_builder.ts";

const FIXTURES = new URL("../../fixtures/images/", import.meta.url).pathname;

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
    assert.deepEqual(ls(dir), ["ct"]);
    assert.deepEqual(
      Deno.readTextFileSync(`${dir}/ct/config`),
      "old\n",
      "the old container, which was in use, is back",
    );
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
    assert.deepEqual(ls(dir), ["ct"]);
    assert.deepEqual(warnings.length, 1, warnings.join("\n"));
    assert(warnings[0]!.startsWith(`removed ${staging}.old, a staging directory`), warnings[0]);
  });
});

Deno.test("openImage removes archives that killed runs unpacked in $TMPDIR, and names its own by its owner", async () => {
  await withTempDir(async (dir) => {
    const dead = ".oci2lxc-unpack-999999-1-0badcafe.tar";
    const live = `.oci2lxc-unpack-${ownerTag()}-0badcafe.tar`;
    for (const name of [dead, live, ".oci2lxc-unpack-notes.tar", "other.tar"]) {
      Deno.writeTextFileSync(`${dir}/${name}`, "x");
    }
    const before = Deno.env.get("TMPDIR");
    Deno.env.set("TMPDIR", dir);
    try {
      const image = await openImage(parseReference(`docker-archive:${FIXTURES}busybox.docker.tar.gz`));
      try {
        const mine = ls(dir).filter((n) => n.startsWith(`.oci2lxc-unpack-${ownerTag()}-`) && n !== live);
        assert.deepEqual(mine.length, 1, ls(dir).join(" "));
        assert(
          image.warnings.some((w) =>
            w.startsWith(`removed ${dir}/${dead}, an unpacked archive left by an earlier run`)
          ),
          image.warnings.join("\n"),
        );
      } finally {
        image.close();
      }
    } finally {
      if (before === undefined) Deno.env.delete("TMPDIR");
      else Deno.env.set("TMPDIR", before);
    }
    assert.deepEqual(ls(dir), [live, ".oci2lxc-unpack-notes.tar", "other.tar"].sort(), "a live run's and others' stay");
  });
});

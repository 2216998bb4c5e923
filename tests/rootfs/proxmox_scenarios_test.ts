/**
 * The eight Proxmox oci fixtures (shared/fixtures/proxmox-oci/README.md),
 * expressed as in-memory layers in diff_ids (application) order.
 */

import assert from "node:assert/strict";
import { apply, dir, eachResolver, file, lstat, symlink, whiteout } from "./_layers.ts";
import { systemTest } from "../_helpers/tier.ts";

systemTest("Proxmox whiteout_root_breakout: '.wh..' at the root is ignored", () => {
  eachResolver((sb, opts) => {
    const warnings = apply(sb.root, [[whiteout(".wh..")]], opts);
    assert(Deno.lstatSync(sb.root).isDirectory);
    assert.deepEqual(warnings.map((w) => w.code), ["whiteout-ignored"]);
    sb.assertCanaryIntact();
  });
});

systemTest("Proxmox whiteout_root_parent_breakout: '.wh...' is ignored", () => {
  eachResolver((sb, opts) => {
    apply(sb.root, [[whiteout(".wh...")]], opts);
    assert(Deno.lstatSync(sb.root).isDirectory);
    sb.assertCanaryIntact();
  });
});

systemTest("Proxmox whiteout_current_directory: 'etc/.wh..' removes etc", () => {
  eachResolver((sb, opts) => {
    apply(sb.root, [[dir("etc"), file("etc/passwd", "passwd")], [
      whiteout("etc/.wh.."),
    ]], opts);
    assert.deepEqual(lstat(`${sb.root}/etc`), null);
  });
});

systemTest("Proxmox whiteout_symlink: whiting out a symlink keeps the directory it points to", () => {
  eachResolver((sb, opts) => {
    apply(sb.root, [
      [
        dir("etc", { mode: 0o500 }),
        file("etc/passwd", "passwd", { mode: 0o400 }),
        symlink("localetc", "etc"),
      ],
      [whiteout(".wh.localetc")],
    ], opts);
    assert.deepEqual(Deno.readTextFileSync(`${sb.root}/etc/passwd`), "passwd");
    assert.deepEqual(lstat(`${sb.root}/localetc`), null);
  });
});

systemTest("Proxmox whiteout_dead_symlink_parent: a whiteout below a dangling symlink removes nothing", () => {
  eachResolver((sb, opts) => {
    apply(sb.root, [
      [
        dir("etc", { mode: 0o500 }),
        file("etc/passwd", "passwd", { mode: 0o400 }),
        symlink("localetc", "dne"),
      ],
      [whiteout("localetc/.wh.etc")],
    ], opts);
    assert.deepEqual(Deno.readTextFileSync(`${sb.root}/etc/passwd`), "passwd");
    assert.deepEqual(lstat(`${sb.root}/dne`), null);
  });
});

systemTest("Proxmox replace_file: a later layer's file wins", () => {
  eachResolver((sb, opts) => {
    apply(sb.root, [[dir("etc"), file("etc/a", "1")], [
      dir("etc"),
      file("etc/a", "2"),
    ]], opts);
    assert.deepEqual(Deno.readTextFileSync(`${sb.root}/etc/a`), "2");
  });
});

systemTest("Proxmox replace_file_with_dir: a directory replaces a lower file", () => {
  eachResolver((sb, opts) => {
    apply(sb.root, [[dir("etc"), file("etc/a", "1")], [
      dir("etc"),
      dir("etc/a"),
    ]], opts);
    assert(Deno.lstatSync(`${sb.root}/etc/a`).isDirectory);
  });
});

systemTest("Proxmox replace_dir_with_file: a file replaces a lower directory", () => {
  eachResolver((sb, opts) => {
    apply(sb.root, [[dir("etc"), dir("etc/a")], [
      dir("etc"),
      file("etc/a", "1"),
    ]], opts);
    assert(Deno.lstatSync(`${sb.root}/etc/a`).isFile);
  });
});

/**
 * Child process for approximate_test.ts: applies layers in approximate mode
 * as an unprivileged user and prints the warning codes as JSON.
 *
 * @module
 */

import { apply, dir, file, node, symlink } from "./_layers.ts";

const cap = new Uint8Array([
  0x01,
  0x00,
  0x00,
  0x02,
  0x00,
  0x20,
  0x00,
  0x00,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
]);
const warnings = apply(Deno.args[0]!, [
  [
    dir("locked", { mode: 0 }),
    file("locked/f", "x", {
      uid: 5,
      xattrs: { "security.capability": cap, "user.ok": "1" },
    }),
    node("char", "dev/null", 1, 3),
    node("fifo", "fifo", 0, 0, { mode: 0o640 }),
    symlink("l", "x"),
    dir("ro", { mode: 0o500 }),
    file("ro/f", "y"),
  ],
  [file("locked/g", "z"), file("ro/h", "h"), dir("ro", { mode: 0o555 })],
], { approximate: true });
console.log(JSON.stringify(warnings.map((w) => w.code)));

/**
 * Child process for deep_path_test.ts, run under `strace`: applies layers
 * with deep paths, each between two marker syscalls (an `openat` of a path
 * that does not exist), so the test can count the syscalls of each case
 * without the runtime's own start-up. Prints the cases' errors as JSON.
 *
 * Usage: `_deep_path_child.ts DEPTH`
 *
 * @module
 */

import { apply, dir, file, type Layer } from "./_layers.ts";

const depth = Number(Deno.args[0]);

/** One entry `A/A/…/A/f`: DEPTH directories made for one file. */
function deepEntry(n: number): Layer {
  return [file(`${"A/".repeat(n)}f`, "x")];
}

/** A directory entry per level (`A`, `A/A`, …), as tar lists a deep tree, then a file at the bottom. */
function chain(n: number): Layer {
  const layer: Layer = [];
  for (let i = 1; i <= n; i++) layer.push(dir("A/".repeat(i).slice(0, -1)));
  layer.push(file(`${"A/".repeat(n)}f`, "x"));
  return layer;
}

function mark(label: string): void {
  try {
    Deno.openSync(`/nonexistent-oci2lxc-mark/${label}`);
  } catch {
    // The failed openat is the marker.
  }
}

const errors: Record<string, string> = {};
for (const [shape, layer] of [["deep", deepEntry(depth)], ["chain", chain(depth)]] as const) {
  for (const userspaceResolver of [false, true]) {
    const label = `${shape}-${userspaceResolver ? "userspace" : "openat2"}`;
    const root = Deno.makeTempDirSync({ prefix: "oci2lxc-deep-" });
    mark(`begin-${label}`);
    try {
      apply(`${root}/rootfs`, [layer], { userspaceResolver });
    } catch (err) {
      errors[label] = err instanceof Error ? err.message : String(err);
    }
    mark(`end-${label}`);
    Deno.removeSync(root, { recursive: true });
  }
}
console.log(JSON.stringify(errors));

/**
 * Throughput of RootfsWriter: one layer of 20,000 small files in 400
 * directories, written into a fresh directory (set BENCH_DIR to choose the
 * filesystem, e.g. /dev/shm). Run with
 * `deno bench -A tests/rootfs/rootfs_writer_bench.ts`.
 */

import { RootfsWriter } from "../../core/rootfs/rootfs_writer.ts";
import { dir, file, type Layer } from "./_layers.ts";

const FILES = 20_000;
const layer: Layer = [];
for (let d = 0; d < 400; d++) {
  layer.push(dir(`usr/share/d${d}`));
  for (let f = 0; f < FILES / 400; f++) {
    layer.push(file(`usr/share/d${d}/file-${f}.txt`, `content of ${d}/${f}\n`));
  }
}

function run(userspaceResolver: boolean): void {
  const where = Deno.env.get("BENCH_DIR");
  const base = Deno.makeTempDirSync({
    prefix: "oci2lxc-bench-",
    ...(where ? { dir: where } : {}),
  });
  try {
    const w = new RootfsWriter(`${base}/rootfs`, { userspaceResolver });
    w.beginLayer("bench");
    for (const { entry, data } of layer) {
      w.entry(entry);
      if (data !== undefined) w.data(data);
      w.entryEnd();
    }
    w.endLayer();
    w.finish();
    w.close();
  } finally {
    Deno.removeSync(base, { recursive: true });
  }
}

Deno.bench({
  name: "RootfsWriter 20k small files (openat2)",
  n: 3,
  warmup: 1,
  fn: () => run(false),
});
Deno.bench({
  name: "RootfsWriter 20k small files (userspace walk)",
  n: 3,
  warmup: 1,
  fn: () => run(true),
});

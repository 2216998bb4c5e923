/**
 * Where the benchmark extracts: a journaled ext4 filesystem in a loop file
 * under the cache directory.
 *
 * Why not the cache directory itself: this VM's root filesystem is ext4
 * without a journal, and such an ext4 will not reuse an inode deleted in the
 * last 60 s (`recently_deleted()` in fs/ext4/ialloc.c, which only applies
 * when there is no journal). Every run deletes the tree it made, so the next
 * run's inode allocation scans thousands of recently freed inodes:
 * `gzip -dc | tar -x` of the 1× image takes ~10 s of system time there,
 * against ~1.2 s on a fresh or journaled ext4. A journaled ext4 is also what
 * LXC hosts run. With `--work DIR` the benchmark extracts there instead and
 * waits for nothing: numbers on a journal-less ext4 are then meaningless.
 *
 * @module
 */

import { bash, exists, q, run } from "./shell.ts";

/** A mounted scratch filesystem (or a plain directory). */
export interface ScratchFs {
  /** The directory runs extract into. */
  dir: string;
  /** What it is, for the report. */
  description: string;
  /** Unmount what {@linkcode openScratchFs} mounted; a plain directory is left alone. */
  close(): void;
}

const SIZE = "24G";

/**
 * Mount (creating it once) `cacheDir/scratch.ext4` on `cacheDir/scratch`,
 * or use `workDir` when given.
 *
 * @throws {Error} when the loop filesystem cannot be made or mounted
 */
export function openScratchFs(cacheDir: string, workDir?: string): ScratchFs {
  if (workDir !== undefined) {
    Deno.mkdirSync(workDir, { recursive: true });
    const fs = bash(`stat -f -c %T ${q(workDir)}`).trim();
    return { dir: workDir, description: `${workDir} (${fs}, as given by --work)`, close() {} };
  }
  const image = `${cacheDir}/scratch.ext4`;
  const dir = `${cacheDir}/scratch`;
  Deno.mkdirSync(dir, { recursive: true });
  const mounted = bash(`findmnt -n -o TARGET --mountpoint ${q(dir)} || true`).trim() !== "";
  if (!mounted) {
    if (!exists(image)) {
      // Sparse file; inode tables and journal written now, so no lazy-init thread runs during the benchmark.
      run(["truncate", "-s", SIZE, image]);
      run(["mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0", image]);
    }
    run(["mount", "-o", "loop", image, dir]);
  }
  const source = bash(`findmnt -n -o SOURCE --mountpoint ${q(dir)}`).trim();
  return {
    dir,
    description: `ext4 with journal, ${SIZE} loop file (${source}) on the cache filesystem`,
    close() {
      if (!mounted) {
        try {
          run(["umount", dir]);
        } catch {
          // still busy: leave it mounted, the next run reuses it
        }
      }
    },
  };
}

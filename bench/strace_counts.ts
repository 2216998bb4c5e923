/**
 * Reads `strace -c` tables and counts the system calls that act on the
 * tree being written, so our convert and GNU tar can be compared per entry.
 *
 * @module
 */

/** Calls per system call name, from the table `strace -c -o FILE` writes. */
export function parseStraceCounts(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of text.split("\n")) {
    const cols = line.trim().split(/\s+/);
    // % time, seconds, usecs/call, calls, [errors], syscall
    if (cols.length < 5 || !/^\d+\.\d+$/.test(cols[0]!)) continue;
    const name = cols.at(-1)!;
    const calls = Number(cols[3]);
    if (name !== "total" && Number.isInteger(calls)) counts.set(name, calls);
  }
  return counts;
}

/** System calls that act on the tree being written (not process, memory, pipes or threads). */
export const FS_CALLS: ReadonlySet<string> = new Set([
  "openat",
  "openat2",
  "open",
  "close",
  "write",
  "pwrite64",
  "utimensat",
  "fchown",
  "fchownat",
  "chown",
  "lchown",
  "fchmod",
  "fchmodat",
  "chmod",
  "statx",
  "newfstatat",
  "fstat",
  "lstat",
  "unlinkat",
  "mkdirat",
  "symlinkat",
  "linkat",
  "mknodat",
  "readlinkat",
  "getdents64",
  "fsetxattr",
  "setxattr",
  "lsetxattr",
  "listxattr",
  "flistxattr",
  "removexattr",
  "fremovexattr",
]);

/** File-system calls in total and per tar entry; `pipeWrites` are writes into a pipe to subtract (the floor's decompressor). */
export function fsSyscallSummary(
  counts: Map<string, number>,
  entries: number,
  pipeWrites: number,
): { perEntry: number; total: number; calls: Record<string, number> } {
  const calls = Object.fromEntries([...counts].filter(([n]) => FS_CALLS.has(n)).sort((a, b) => b[1] - a[1]));
  const total = Object.values(calls).reduce((a, b) => a + b, 0) - pipeWrites;
  return { perEntry: total / entries, total, calls };
}

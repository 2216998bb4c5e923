/**
 * One timed run of a command: wall time from our clock, CPU time and peak
 * RSS from GNU time (`/usr/bin/time`), which waits for the command and
 * reports the rusage of it and all its waited-for descendants (user and
 * system time add up over a pipeline; max RSS is that of the largest
 * single process).
 *
 * @module
 */

/** What one run cost. */
export interface Measurement {
  /** Wall-clock seconds, spawn to exit. */
  wall: number;
  /** User CPU seconds of the command and its children. */
  user: number;
  /** System CPU seconds of the command and its children. */
  sys: number;
  /** Peak resident set of the largest process, in MiB. */
  rssMiB: number;
}

/** The outcome of {@linkcode measureCommand}. */
export type MeasureResult =
  | { ok: true; measurement: Measurement }
  | { ok: false; code: number; stderr: string };

const TIME = "/usr/bin/time";

/**
 * Run `argv` under `/usr/bin/time -f "%U %S %M"` with stdout discarded.
 *
 * @param argv the command; run directly, not through a shell
 */
export function measureCommand(argv: readonly string[], options: { cwd?: string } = {}): MeasureResult {
  const report = Deno.makeTempFileSync({ prefix: "oci2lxc-bench-time-" });
  try {
    const started = performance.now();
    const out = new Deno.Command(TIME, {
      args: ["-f", "%U %S %M", "-o", report, "--", ...argv],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    }).outputSync();
    const wall = (performance.now() - started) / 1000;
    const stderr = new TextDecoder().decode(out.stderr).trim();
    if (!out.success) return { ok: false, code: out.code, stderr };
    // GNU time appends "Command exited with non-zero status" lines before the format line on failure.
    const last = Deno.readTextFileSync(report).trim().split("\n").at(-1) ?? "";
    const [user, sys, rssKiB] = last.split(" ").map(Number);
    if (user === undefined || sys === undefined || rssKiB === undefined || [user, sys, rssKiB].some(Number.isNaN)) {
      throw new Error(`Cannot read the report of ${TIME}: ${JSON.stringify(last)}`);
    }
    return { ok: true, measurement: { wall, user, sys, rssMiB: rssKiB / 1024 } };
  } finally {
    Deno.removeSync(report);
  }
}

/** Median, minimum and maximum of some numbers (the median of an even count is the mean of the middle two). */
export function spread(values: readonly number[]): { median: number; min: number; max: number } {
  if (values.length === 0) return { median: NaN, min: NaN, max: NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)! };
}

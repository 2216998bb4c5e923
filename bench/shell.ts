/**
 * Small process helpers for the benchmark: run a command and fail loudly,
 * or run a bash snippet. The benchmark drives real tools (debootstrap,
 * umoci, skopeo, tar), so this is the only place that spawns them.
 *
 * @module
 */

/** Options for {@linkcode run}. */
export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Keep stdout (returned); stderr is always captured for the error message. */
  capture?: boolean;
  /** Let stdout/stderr through to the terminal (long builds show progress). */
  inherit?: boolean;
}

/**
 * Run `argv` to completion and return its stdout as text.
 *
 * @throws {Error} `Cannot run <argv0>: exit N: <stderr tail>` on a non-zero exit
 */
export function run(argv: readonly string[], options: RunOptions = {}): string {
  const [program, ...args] = argv;
  if (program === undefined) throw new RangeError("Cannot run an empty command");
  const output = new Deno.Command(program, {
    args,
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    ...(options.env !== undefined ? { env: options.env } : {}),
    stdin: "null",
    stdout: options.inherit ? "inherit" : "piped",
    stderr: options.inherit ? "inherit" : "piped",
  }).outputSync();
  const text = (bytes: Uint8Array | null | undefined): string => {
    try {
      return bytes ? new TextDecoder().decode(bytes) : "";
    } catch {
      return "";
    }
  };
  const stdout = options.inherit ? "" : text(output.stdout);
  if (!output.success) {
    const stderr = options.inherit ? "" : text(output.stderr).trim().split("\n").slice(-8).join("\n");
    throw new Error(`Cannot run ${argv.join(" ").slice(0, 200)}: exit ${output.code}${stderr ? `: ${stderr}` : ""}`);
  }
  return stdout;
}

/** Run a bash snippet with `set -euo pipefail`; returns stdout. */
export function bash(script: string, options: RunOptions = {}): string {
  return run(["bash", "-c", `set -euo pipefail\n${script}`], options);
}

/** Quote one word for bash. */
export function q(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Whether `path` exists (without following a final symlink). */
export function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Remove a tree if present. Large trees go through `rm -rf`, which is faster than Deno.removeSync. */
export function removeTree(path: string): void {
  if (exists(path)) run(["rm", "-rf", "--one-file-system", path]);
}

/**
 * Running an argv through the image's POSIX shell when LXC 5 cannot put it
 * in `lxc.init.cmd` (an argument has a space, or is empty). LXC 5.0.2 splits
 * that key at spaces only, so the script must hold no space: its words are
 * separated by tabs (literal for LXC, blanks for the shell), each argument
 * is single-quoted, and a space inside an argument is spliced in from a
 * variable set with `printf '\040'`. The shell `exec`s the command, so the
 * process that runs is exactly `argv` (checked with LXC 5.0.2, busybox sh).
 *
 * @module
 */

/**
 * The `-c` script that execs `argv`, or `undefined` when it cannot be done
 * this way (argv[0] starts with `-`, which some shells' `exec` reads as an
 * option).
 *
 * @example
 * ```ts
 * import { shellLauncherScript } from "./shell_launcher.ts";
 * const script = shellLauncherScript(["nginx", "-g", "daemon off;"])!;
 * console.assert(!script.includes(" "));
 * console.assert(script === "s=$(printf\t'\\040');exec\t'nginx'\t'-g'\t'daemon'\"$s\"'off;'");
 * ```
 */
export function shellLauncherScript(
  argv: readonly string[],
): string | undefined {
  const first = argv[0];
  if (first === undefined || first.startsWith("-")) return undefined;
  const needsSpace = argv.some((a) => a.includes(" "));
  const words = argv.map((a) => "'" + a.replaceAll("'", "'\\''").replaceAll(" ", `'"$s"'`) + "'");
  return (needsSpace ? "s=$(printf\t'\\040');" : "") + "exec\t" +
    words.join("\t");
}

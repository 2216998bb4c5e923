/**
 * Running an argv through the image's POSIX shell when LXC cannot take it in
 * `lxc.init.cmd` as it is (an argument with a blank, a quote, or empty).
 * LXC 5 splits that key at spaces, LXC 6 with its quoting splitter
 * (quote_init_cmd.ts has both, with the source files); both read a word with
 * no blank, and no quote at its start, as one word. So the script holds no blank at all: `${IFS}` separates the
 * words of `exec` (field splitting), a space or tab inside an argument comes
 * from `${IFS%??}` or `${IFS#?}` (the shell's default IFS is space, tab,
 * newline), and every argument is single-quoted. `exec` keeps the command's
 * argv exactly (checked on LXC 5.0.2 and 6.0.4 with busybox sh, and with dash and bash).
 *
 * @module
 */

/**
 * The `-c` script that execs `argv`, or `undefined` when it cannot be done this way (argv[0] starts with `-`, which
 * some shells' `exec` reads as an option).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shellLauncherScript } from "./shell_launcher.ts";
 * const script = shellLauncherScript(["nginx", "-g", "daemon off;"])!;
 * assert(!/[ \t]/.test(script));
 * assert.equal(script, "s=${IFS%??};exec${IFS}'nginx'${IFS}'-g'${IFS}'daemon'\"$s\"'off;'");
 * ```
 */
export function shellLauncherScript(argv: readonly string[]): string | undefined {
  const first = argv[0];
  if (first === undefined || first.startsWith("-")) return undefined;
  const space = argv.some((a) => a.includes(" "));
  const tab = argv.some((a) => a.includes("\t"));
  const words = argv.map((a) =>
    "'" + a.replaceAll("'", "'\\''").replaceAll(" ", `'"$s"'`).replaceAll("\t", `'"$t"'`) + "'"
  );
  return (space ? "s=${IFS%??};" : "") + (tab ? "t=${IFS#?};t=${t%?};" : "") + "exec${IFS}" + words.join("${IFS}");
}

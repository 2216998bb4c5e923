/**
 * Running the CLI with stderr on a real pseudo-terminal (made by script(1) from util-linux), for the tests of what a
 * human sees: the live progress view and coloured prefixes.
 *
 * @module
 */
import { bundle, type Entry, PROJECT_ROOT } from "./_cli.ts";

function quote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * Run `oci2lxc ARGS` from `entry` with stdin and stderr on a pty and stdout into `stdoutFile`, in a clean environment
 * (PATH, TERM=xterm and `env`); the exit code and everything the terminal got.
 */
export async function runOnTerminal(
  entry: Entry,
  args: readonly string[],
  stdoutFile: string,
  env: Record<string, string>,
): Promise<{ code: number; terminal: string }> {
  const script = entry === "bundle" ? await bundle() : `${PROJECT_ROOT}main.ts`;
  const argv = [Deno.execPath(), "run", "-A", "--quiet", script, ...args];
  const r = await new Deno.Command("script", {
    args: ["-q", "-e", "-c", `${argv.map(quote).join(" ")} > ${quote(stdoutFile)}`, "/dev/null"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    clearEnv: true,
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", TERM: "xterm", ...env },
  }).output();
  return { code: r.code, terminal: new TextDecoder().decode(r.stdout) };
}

/**
 * Running the CLI for the registry tests: with a standard input (for `--password-stdin`) and an empty HOME, so no auth
 * file of the host's is read.
 */
import { bundle, type CliResult, type Entry, PROJECT_ROOT } from "./_cli.ts";

/** Run the CLI with `stdin` as its standard input and an empty HOME (no auth file of the host's). */
export async function cliWithStdin(entry: Entry, args: string[], stdin: string, home: string): Promise<CliResult> {
  const script = entry === "bundle" ? await bundle() : `${PROJECT_ROOT}main.ts`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", script, ...args],
    cwd: PROJECT_ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    clearEnv: true,
    env: {
      NO_COLOR: "1",
      HOME: home,
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      // Deno's own cache stays where it was, not in the empty HOME.
      DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
    },
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const out = await child.output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

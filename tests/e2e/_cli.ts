/**
 * Runs the real CLI as a subprocess, from main.ts and from the bundle that
 * `deno task bundle` makes, so every end-to-end test covers both.
 */
import { fileURLToPath } from "node:url";
import { requireSystemTier } from "../_helpers/tier.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The project root, with a trailing slash. */
export const PROJECT_ROOT = ROOT;

let bundlePath: string | undefined;

/** Build the bundle once per test process, into a temp dir, and return its path. */
export async function bundle(): Promise<string> {
  requireSystemTier("the CLI end to end");
  if (bundlePath) return bundlePath;
  const dir = await Deno.makeTempDir({ prefix: "oci2lxc-bundle-" });
  // One bundle per test module: removed when the module's runtime ends, so runs leave nothing in /tmp.
  globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
  const out = `${dir}/oci2lxc.js`;
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--platform", "deno", "-o", out, `${ROOT}main.ts`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!result.success) throw new Error(`deno bundle failed: ${new TextDecoder().decode(result.stderr)}`);
  bundlePath = out;
  return out;
}

/** The two ways the CLI ships: the source entry point and the single bundled file. */
export const ENTRIES = ["main.ts", "bundle"] as const;
export type Entry = typeof ENTRIES[number];

/** What a CLI run produced. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `oci2lxc ARGS` through `entry`, with a clean environment plus `env`. */
export async function cli(entry: Entry, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  requireSystemTier("the CLI end to end");
  const script = entry === "bundle" ? await bundle() : `${ROOT}main.ts`;
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", script, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", RUST_BACKTRACE: "1", ...env },
  }).output();
  const decoder = new TextDecoder();
  return { code: result.code, stdout: decoder.decode(result.stdout), stderr: decoder.decode(result.stderr) };
}

/**
 * Start `oci2lxc ARGS` through `entry` without waiting, for tests that act on
 * the running process (signals). Same environment as {@linkcode cli}.
 */
export async function spawnCli(
  entry: Entry,
  args: string[],
  env: Record<string, string> = {},
): Promise<Deno.ChildProcess> {
  requireSystemTier("the CLI end to end");
  const script = entry === "bundle" ? await bundle() : `${ROOT}main.ts`;
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", script, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", RUST_BACKTRACE: "1", ...env },
  }).spawn();
}

/** Compare `actual` with a committed golden file; UPDATE_GOLDEN=1 rewrites it. */
export async function assertGolden(name: string, actual: string): Promise<void> {
  const path = `${ROOT}tests/e2e/golden/${name}`;
  if (Deno.env.get("UPDATE_GOLDEN") === "1") {
    await Deno.writeTextFile(path, actual);
    return;
  }
  let expected: string;
  try {
    expected = await Deno.readTextFile(path);
  } catch {
    throw new Error(`golden file ${name} is missing: run with UPDATE_GOLDEN=1 once and review it`);
  }
  if (expected !== actual) {
    throw new Error(`output differs from golden ${name}:\n--- expected\n${expected}\n--- actual\n${actual}`);
  }
}

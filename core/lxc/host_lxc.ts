/**
 * The LXC installed on this host, if any: its version decides how the config quotes `lxc.init.cmd` and which keys it
 * may use.
 *
 * @module
 */

let cached: string | null | undefined;

/** `lxc-start --version` of this host (e.g. "5.0.2"), or undefined when LXC is not installed. */
export function detectLxcVersion(): string | undefined {
  if (cached !== undefined) return cached ?? undefined;
  try {
    const out = new Deno.Command("lxc-start", { args: ["--version"], stdout: "piped", stderr: "null" }).outputSync();
    const text = new TextDecoder().decode(out.stdout).trim();
    cached = out.success && /^\d+\.\d+(\.\d+)?/.test(text) ? text.split(/\s/)[0]! : null;
  } catch {
    cached = null;
  }
  return cached ?? undefined;
}

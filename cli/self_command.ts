/**
 * How to run this very program again from an LXC hook: the compiled binary
 * by its path, or Deno with the script that is running (main.ts or the bundle).
 *
 * @module
 */
import { fileURLToPath } from "node:url";

/** The argv that starts this program, as absolute paths. */
export function selfCommand(): string[] {
  const main = Deno.mainModule;
  // A compiled binary runs its embedded module; Deno.execPath() is the binary itself.
  if (!main.startsWith("file:") || main.includes("/deno-compile-")) return [Deno.execPath()];
  return [Deno.execPath(), "run", "-A", fileURLToPath(main)];
}

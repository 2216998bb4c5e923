/**
 * The leases the clients' event script records in DEST/network (`state/IFACE.4`, `state/IFACE.6`, resolv.conf) and
 * their reset between runs, so a lease of an earlier run is never taken for a new one.
 *
 * @module
 */
import { type NetworkPaths, RESOLV_CONF_HEADER } from "./network_dir.ts";

/** The address (CIDR) the client of `iface` and `family` has leased, if any. */
export function leaseAddress(paths: NetworkPaths, iface: string, family: 4 | 6): string | undefined {
  try {
    const text = Deno.readTextFileSync(`${paths.stateDir}/${iface}.${family}`);
    return /^address=(.+)$/m.exec(text)?.[1];
  } catch {
    return undefined;
  }
}

/** Rewrite resolv.conf in place (same inode, for the bind mount) and drop lease state. */
export function resetLeaseState(paths: NetworkPaths): void {
  try {
    for (const e of Deno.readDirSync(paths.stateDir)) Deno.removeSync(`${paths.stateDir}/${e.name}`);
  } catch { /* no state dir */ }
  try {
    for (const e of Deno.readDirSync(paths.runDir)) {
      if (e.name.endsWith(".pid") || e.name === "resolv.lock") {
        Deno.removeSync(`${paths.runDir}/${e.name}`, { recursive: true });
      }
    }
  } catch { /* no run dir */ }
  try {
    // Truncate and write, never rename: the container sees this inode through its bind mount.
    const f = Deno.openSync(paths.resolvConf, { write: true, create: true, truncate: true, mode: 0o644 });
    try {
      f.writeSync(new TextEncoder().encode(RESOLV_CONF_HEADER));
    } finally {
      f.close();
    }
  } catch { /* reported by the next write */ }
}

/**
 * DEST/network: the directory next to the rootfs where oci2lxc keeps what the container's networking needs at run time.
 * It is ours, never the image's, so a hostile rootfs (say /etc/resolv.conf as a symlink to a host file) cannot redirect
 * a write: the container sees `resolv.conf` through a bind mount over its /etc/resolv.conf.
 *
 * Layout:
 * - `resolv.conf`: bind-mounted at /etc/resolv.conf; must exist before the container starts; rewritten in place (same
 *   inode) so the mount sees it.
 * - `dhcp.log`: what the DHCP hook and clients did, and why they failed.
 * - `dhcp-event`: the clients' event script, rewritten at every start.
 * - `state/IFACE.4`, `state/IFACE.6`: the current lease of each client.
 * - `dhclient.conf`, `run/`: ISC dhclient's config, leases and pid files.
 *
 * @module
 */

/** Paths inside DEST/network. */
export interface NetworkPaths {
  readonly dir: string;
  readonly resolvConf: string;
  readonly log: string;
  readonly eventScript: string;
  readonly stateDir: string;
  readonly runDir: string;
  readonly dhclientConf: string;
}

/** The paths of DEST/network for a container directory `dest` (absolute). */
export function networkPaths(dest: string): NetworkPaths {
  const dir = `${dest.replace(/\/+$/, "")}/network`;
  return {
    dir,
    resolvConf: `${dir}/resolv.conf`,
    log: `${dir}/dhcp.log`,
    eventScript: `${dir}/dhcp-event`,
    stateDir: `${dir}/state`,
    runDir: `${dir}/run`,
    dhclientConf: `${dir}/dhclient.conf`,
  };
}

/** What resolv.conf holds before any lease (and when no lease names a DNS server). */
export const RESOLV_CONF_HEADER = "# Written by oci2lxc from DHCP leases; rewritten at every lease change\n";

/**
 * Create DEST/network and an initial resolv.conf, so LXC's bind mount finds its source at the first start. Existing
 * files are kept.
 */
export function prepareNetworkDir(dest: string): NetworkPaths {
  const paths = networkPaths(dest);
  Deno.mkdirSync(paths.dir, { recursive: true, mode: 0o755 });
  try {
    Deno.writeTextFileSync(paths.resolvConf, RESOLV_CONF_HEADER, { createNew: true, mode: 0o644 });
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
  }
  return paths;
}

/**
 * Real LXC 5 containers on a private bridge (tests/e2e/_netns.ts): the
 * lines from lxcNetLines, written through LxcConfigWriter, started with
 * `lxc-start` inside our namespace. The app is a busybox script that, as
 * its first act, records the address, routes and /etc/resolv.conf it sees,
 * so the tests check that the network is ready before the app starts.
 * Needs root, LXC, a static busybox and dnsmasq; OCI2LXC_SKIP_LXC_TESTS=1
 * skips them.
 */
import assert from "node:assert/strict";
import { LxcConfigWriter } from "../../core/lxc/lxc_config_writer.ts";
import { mountEntry } from "../../core/lxc/mount_entry.ts";
import { findDhcpClients } from "../../core/network/dhcp_processes.ts";
import { lxcNetLines } from "../../core/network/lxc_net_lines.ts";
import { parseNetSpecs } from "../../core/network/net_spec.ts";
import { networkPaths, prepareNetworkDir } from "../../core/network/network_dir.ts";
import { BUSYBOX, INIT_LXC, lxcMissing, SKIP_LXC } from "../lxc/_real_lxc.ts";
import { createTestNetwork, isGone, netnsMissing, type TestNetwork } from "../e2e/_netns.ts";
import { waitFor } from "../_helpers/wait_for.ts";
import { systemTest } from "../_helpers/tier.ts";

const HOOK_MAIN = new URL("./_hook_main.ts", import.meta.url).pathname;

function requireAll(): void {
  const why = lxcMissing() ?? netnsMissing();
  if (why) throw new Error(`Cannot run LXC network tests: ${why} (set OCI2LXC_SKIP_LXC_TESTS=1 to skip them)`);
}

const APP = `#!/bin/busybox sh
{ /bin/busybox ip -4 -o addr show dev eth0; /bin/busybox ip -4 route; /bin/busybox cat /etc/resolv.conf; } > /out/net.tmp 2>&1
/bin/busybox mv /out/net.tmp /out/net
exec /bin/busybox sleep 1000
`;

/** A container directory DEST (with a space in its path) holding rootfs, config and network/. */
interface Container {
  readonly name: string;
  readonly lxcpath: string;
  readonly dest: string;
  readonly out: string;
  /** What the app saw at its start, once it has written it. */
  seen(): Promise<string>;
}

/** What the image has at /etc/resolv.conf: nothing (no /etc at all), a regular file, or a symlink to a host file. */
type EtcKind = "none" | "file" | "symlink";

function makeContainer(base: string, name: string, nets: string[], etc: EtcKind = "none"): Container {
  const dest = `${base}/${name}`;
  const rootfs = `${dest}/rootfs`;
  const out = `${base}/out-${name}`;
  for (const d of ["bin", "dev", "proc", "sys", "tmp"]) Deno.mkdirSync(`${rootfs}/${d}`, { recursive: true });
  Deno.mkdirSync(out);
  Deno.writeTextFileSync(`${rootfs}/bin/busybox`, "");
  Deno.writeTextFileSync(`${rootfs}/app`, APP, { mode: 0o755 });
  Deno.chmodSync(`${rootfs}/app`, 0o755);
  Deno.writeTextFileSync(`${base}/host-file`, "host data\n");
  if (etc !== "none") Deno.mkdirSync(`${rootfs}/etc`);
  if (etc === "file") Deno.writeTextFileSync(`${rootfs}/etc/resolv.conf`, "nameserver 192.0.2.1\n");
  // A hostile image: /etc/resolv.conf points at a host file.
  if (etc === "symlink") Deno.symlinkSync(`${base}/host-file`, `${rootfs}/etc/resolv.conf`);

  const w = new LxcConfigWriter();
  w.entry("lxc.include", "/usr/share/lxc/config/common.conf");
  w.entry("lxc.rootfs.path", `dir:${rootfs}`);
  w.entry("lxc.uts.name", name);
  w.entry("lxc.mount.entry", mountEntry(BUSYBOX, "/bin/busybox", "none", "bind,ro"));
  w.entry("lxc.mount.entry", mountEntry(out, "/out", "none", "bind,create=dir"));
  w.entry("lxc.mount.entry", mountEntry(INIT_LXC, "/.lxcinit", "none", "bind,create=file,ro"));
  w.entry("lxc.init.cmd", `/.lxcinit -n ${name} -- /app`);
  w.entry("lxc.signal.halt", "SIGTERM");
  const specs = parseNetSpecs(nets);
  const self = [Deno.execPath(), "run", "-A", "--quiet", HOOK_MAIN];
  for (const [key, value] of lxcNetLines(specs, { kind: "app", dest, self })) w.entry(key, value);
  prepareNetworkDir(dest);
  Deno.writeTextFileSync(`${dest}/config`, w.toString());
  return {
    name,
    lxcpath: base,
    dest,
    out,
    seen: () =>
      waitFor("the app's record of its network", 15_000, () => {
        try {
          return Deno.readTextFileSync(`${out}/net`);
        } catch {
          return undefined;
        }
      }),
  };
}

async function withBase(fn: (base: string, net: TestNetwork) => Promise<void>): Promise<void> {
  await using net = await createTestNetwork();
  const base = Deno.makeTempDirSync({ prefix: "oci2lxc lxc net " });
  try {
    await fn(base, net);
  } finally {
    await net.cleanup();
    Deno.removeSync(base, { recursive: true });
  }
}

systemTest({
  name:
    "lxcNetLines DHCP: LXC's start-host hook leases the address before the app starts, and lxc-stop leaves no client",
  ignore: SKIP_LXC,
  async fn() {
    requireAll();
    await withBase(async (base, net) => {
      // No /etc in the image (a scratch image): create=file makes the mount point.
      const c = makeContainer(base, "dhcp-app", [`link=${net.bridge}`]);
      const paths = networkPaths(c.dest);
      const inode = Deno.statSync(paths.resolvConf).ino;
      const started = await net.startContainerInNetns(c.name, c.lxcpath, `${base}/lxc.log`);
      assert.deepEqual(started.code, 0, `${started.stderr}\n${Deno.readTextFileSync(`${base}/lxc.log`)}`);

      const seen = await c.seen();
      const address = /inet (\d+\.\d+\.\d+\.\d+)\/24/.exec(seen)?.[1];
      assert(address !== undefined && net.inRange(address), `the app saw no leased address:\n${seen}`);
      assert(seen.includes(`default via ${net.bridgeIp} dev eth0`), seen);
      assert(seen.includes(`nameserver ${net.bridgeIp}\n`), seen);
      assert.deepEqual(Deno.statSync(paths.resolvConf).ino, inode);

      // Reachable from the bridge's side, through the container's veth.
      const ping = await net.runInNetns([BUSYBOX, "ping", "-c", "1", "-W", "2", address!]);
      assert.deepEqual(ping.code, 0, ping.stdout + ping.stderr);

      // One detached client, holding none of LXC's descriptors.
      const clients = findDhcpClients(paths);
      assert.deepEqual(clients.length, 1);
      const fds = Array.from(
        Deno.readDirSync(`/proc/${clients[0]}/fd`),
        (e) => Deno.readLinkSync(`/proc/${clients[0]}/fd/${e.name}`),
      );
      assert.deepEqual(fds.filter((f) => f.startsWith("socket:")), [], `client fds: ${fds.join(", ")}`);

      const stop = await net.lxc("lxc-stop", ["-n", c.name, "-P", c.lxcpath, "-t", "10"]);
      assert.deepEqual(stop.code, 0, stop.stderr);
      assert(clients.every(isGone), "a DHCP client outlived lxc-stop");
      assert.deepEqual(findDhcpClients(paths), []);
      const log = Deno.readTextFileSync(paths.log);
      assert(log.includes("stop: ended 1 client(s)"), log);
    });
  },
});

systemTest({
  name: "lxcNetLines static: LXC sets the address and gateway before the app starts, with no hook",
  ignore: SKIP_LXC,
  async fn() {
    requireAll();
    await withBase(async (base, net) => {
      const ip = `${net.subnet}.20`;
      const c = makeContainer(
        base,
        "static-app",
        [`link=${net.bridge},ip=${ip}/24,gw=${net.bridgeIp},ip6=none`],
        "file",
      );
      assert.deepEqual(Deno.readTextFileSync(`${c.dest}/config`).includes("lxc.hook."), false);
      const started = await net.startContainerInNetns(c.name, c.lxcpath, `${base}/lxc.log`);
      assert.deepEqual(started.code, 0, `${started.stderr}\n${Deno.readTextFileSync(`${base}/lxc.log`)}`);
      const seen = await c.seen();
      assert(seen.includes(`inet ${ip}/24`), seen);
      assert(seen.includes(`default via ${net.bridgeIp} dev eth0`), seen);
      const ping = await net.runInNetns([BUSYBOX, "ping", "-c", "1", "-W", "2", ip]);
      assert.deepEqual(ping.code, 0, ping.stdout + ping.stderr);
      const stop = await net.lxc("lxc-stop", ["-n", c.name, "-P", c.lxcpath, "-t", "10"]);
      assert.deepEqual(stop.code, 0, stop.stderr);
    });
  },
});

systemTest({
  name:
    "LXC 5 refuses to bind-mount resolv.conf over an image's symlinked /etc/resolv.conf, and nothing is written through it",
  ignore: SKIP_LXC,
  async fn() {
    requireAll();
    await withBase(async (base, net) => {
      const c = makeContainer(base, "hostile-app", [`link=${net.bridge}`], "symlink");
      const started = await net.startContainerInNetns(c.name, c.lxcpath, `${base}/lxc.log`);
      // The converter must replace such a symlink with a regular file; LXC itself refuses to follow it.
      assert(started.code !== 0, "LXC started a container whose /etc/resolv.conf is a symlink");
      assert(Deno.readTextFileSync(`${base}/lxc.log`).includes("was a symbolic link"));
      assert.deepEqual(Deno.readTextFileSync(`${base}/host-file`), "host data\n");
      assert.deepEqual(findDhcpClients(networkPaths(c.dest)), []);
    });
  },
});

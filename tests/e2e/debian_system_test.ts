/**
 * A Debian system container end to end: a real Debian bookworm made by
 * debootstrap (sysvinit, ifupdown, ISC dhclient; built before the tests by
 * scripts/test.sh and cached by tests/_helpers/debian_rootfs.ts), converted by the CLI with `--net`,
 * booted by `lxc-start` inside a network namespace the test made (bridge +
 * dnsmasq there, never on the host's network). Its own init runs
 * /etc/init.d/networking, so the address must come from the
 * /etc/network/interfaces the converter wrote: LXC is given no address.
 * `lxc-stop` must then halt it through the signal the converter chose.
 */
import assert from "node:assert/strict";
import { debianSystemImage } from "../_helpers/debian_rootfs.ts";
import { lxcMissing } from "../lxc/_real_lxc.ts";
import { createTestNetwork, netnsMissing, run, type TestNetwork } from "./_netns.ts";
import { cli } from "./_cli.ts";
import { waitFor } from "../_helpers/wait_for.ts";

const BOOT_MS = 60_000;
// sysvinit's rc 0 (sendsigs waits up to 10 s for stragglers) stays well below this; no kill follows it.
const STOP_TIMEOUT_S = 60;

function requireAll(): void {
  const why = lxcMissing() ?? netnsMissing();
  if (why) throw new Error(`Cannot run the Debian system container tests: ${why}`);
}

interface Booted {
  dest: string;
  name: string;
  parent: string;
  report: { container: { kind: string; argv: string[]; stopSignal: string } };
}

/** Build the image in `parent`, convert it with `--net`, and check the plan is a system container's. */
async function convert(parent: string, name: string, netSpec: string): Promise<Booted> {
  const image = await debianSystemImage(`${parent}/image`);
  const dest = `${parent}/${name}`;
  const r = await cli("main.ts", ["convert", `oci:${image.dir}`, dest, "--json", "--quiet", "--net", netSpec]);
  assert.deepEqual(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.deepEqual(report.container.kind, "system");
  assert.deepEqual(report.container.argv, ["/sbin/init"]);
  const config = Deno.readTextFileSync(`${dest}/config`);
  assert(!/^lxc\.net\.0\.ipv4\./m.test(config), `LXC must not set the address of a system container:\n${config}`);
  return { dest, name, parent, report };
}

async function start(net: TestNetwork, c: Booted): Promise<number> {
  const started = await net.startContainerInNetns(c.name, c.parent, `${c.parent}/lxc.log`);
  assert.deepEqual(started.code, 0, started.stderr + started.stdout + lxcLog(c));
  const info = await net.lxc("lxc-info", ["-n", c.name, "-P", c.parent, "-p", "-H"]);
  const pid = Number(info.stdout.trim());
  assert(info.code === 0 && pid > 0, `no init pid: ${info.stdout}${info.stderr}`);
  return pid;
}

function lxcLog(c: Booted): string {
  try {
    return `\n--- lxc.log (tail)\n${Deno.readTextFileSync(`${c.parent}/lxc.log`).split("\n").slice(-40).join("\n")}`;
  } catch {
    return "";
  }
}

/** The IPv4 CIDR on the container's eth0, seen from the host through the init's network namespace. */
async function addressOf(pid: number): Promise<string | undefined> {
  const out = await run(["nsenter", `--net=/proc/${pid}/ns/net`, "ip", "-4", "-o", "addr", "show", "dev", "eth0"]);
  return /inet (\d+\.\d+\.\d+\.\d+\/\d+)/.exec(out.stdout)?.[1];
}

async function routesOf(pid: number): Promise<string> {
  return (await run(["nsenter", `--net=/proc/${pid}/ns/net`, "ip", "-4", "route"])).stdout;
}

/** A file inside the running container (its /run is a tmpfs of its own), read through the init's root. */
function readInside(pid: number, path: string): string | undefined {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/root${path}`);
  } catch {
    return undefined;
  }
}

/**
 * `lxc-stop --nokill`: only the halt signal, never a kill, so success means
 * init really shut down; then the container must be STOPPED.
 */
async function stopAndCheck(net: TestNetwork, c: Booted): Promise<void> {
  const stopped = await net.lxc(
    "lxc-stop",
    ["-n", c.name, "-P", c.parent, "--nokill", "-t", String(STOP_TIMEOUT_S)],
    (STOP_TIMEOUT_S + 20) * 1000,
  );
  if (stopped.code !== 0) {
    await net.lxc("lxc-stop", ["-n", c.name, "-P", c.parent, "-k"]);
    assert(
      false,
      `sysvinit did not halt on ${c.report.container.stopSignal} within ${STOP_TIMEOUT_S} s ` +
        `(no inittab powerfail entry running /sbin/init 0?): ${stopped.stderr}${lxcLog(c)}`,
    );
  }
  const state = await net.lxc("lxc-info", ["-n", c.name, "-P", c.parent, "-s", "-H"]);
  assert.deepEqual(state.stdout.trim(), "STOPPED", state.stderr);
}

Deno.test({
  name: "a Debian sysvinit system container converted with a static --net brings eth0 up from /etc/network/interfaces",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    requireAll();
    await using net = await createTestNetwork({ dhcp: false });
    const parent = Deno.makeTempDirSync({ prefix: "oci2lxc-e2e-debian-" });
    try {
      const address = `${net.subnet}.60`;
      const c = await convert(
        parent,
        `o2l-deb-static-${crypto.randomUUID().slice(0, 6)}`,
        `name=eth0,link=${net.bridge},ip=${address}/24,gw=${net.bridgeIp}`,
      );
      const interfaces = Deno.readTextFileSync(`${c.dest}/rootfs/etc/network/interfaces`);
      assert(
        interfaces.includes(`auto eth0\niface eth0 inet static\n\taddress ${address}/24\n\tgateway ${net.bridgeIp}\n`),
        interfaces,
      );

      const pid = await start(net, c);
      const cidr = await waitFor("ifupdown to configure eth0", BOOT_MS, () => addressOf(pid));
      assert.deepEqual(cidr, `${address}/24`);
      const routes = await waitFor("the default route", 10_000, async () => {
        const r = await routesOf(pid);
        return r.includes(`default via ${net.bridgeIp} dev eth0`) ? r : undefined;
      });
      assert(routes.includes(`${net.subnet}.0/24 dev eth0`), routes);
      assert.deepEqual(readInside(pid, "/run/network/ifstate.eth0"), "eth0\n", "ifup recorded eth0 as up");
      const ping = await net.runInNetns(["busybox", "ping", "-c", "1", "-W", "5", address]);
      assert.deepEqual(ping.code, 0, ping.stdout + ping.stderr);

      await stopAndCheck(net, c);
    } finally {
      await net.cleanup();
      Deno.removeSync(parent, { recursive: true });
    }
  },
});

Deno.test({
  name: "a Debian sysvinit system container converted with --net ip=dhcp gets a lease with its own dhclient",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    requireAll();
    await using net = await createTestNetwork({ leaseSeconds: 120 });
    const parent = Deno.makeTempDirSync({ prefix: "oci2lxc-e2e-debian-" });
    try {
      const c = await convert(parent, `o2l-deb-dhcp-${crypto.randomUUID().slice(0, 6)}`, `link=${net.bridge},ip=dhcp`);
      const interfaces = Deno.readTextFileSync(`${c.dest}/rootfs/etc/network/interfaces`);
      assert(interfaces.includes("auto eth0\niface eth0 inet dhcp\n"), interfaces);
      // App containers get a DHCP client from the host; a system container must run its own.
      const config = Deno.readTextFileSync(`${c.dest}/config`);
      assert(!config.includes("hook dhcp"), `no host-side DHCP hook for a system container:\n${config}`);

      const pid = await start(net, c);
      const cidr = await waitFor("dhclient to get a lease", BOOT_MS, () => addressOf(pid));
      const address = cidr.split("/")[0]!;
      assert(net.inRange(address) && cidr.endsWith("/24"), `${cidr} is not from the DHCP range`);
      await waitFor(
        "dnsmasq to log the lease",
        5_000,
        () => net.dnsmasqLog().includes(`DHCPACK(br0) ${address}`) || undefined,
      )
        .catch((err) => assert(false, `${err}:\n${net.dnsmasqLog()}`));
      // dhclient-script sets the address and the route with two commands; ifup records the state after both.
      await waitFor("the default route", 10_000, async () => {
        const r = await routesOf(pid);
        return r.includes(`default via ${net.bridgeIp} dev eth0`) ? r : undefined;
      }).catch(async (err) => assert(false, `${err}:\n${await routesOf(pid)}`));
      await waitFor(
        "ifup to record eth0 as up",
        10_000,
        () => readInside(pid, "/run/network/ifstate.eth0") === "eth0\n" || undefined,
      )
        .catch((err) => assert(false, `${err}: ${readInside(pid, "/run/network/ifstate.eth0")}`));
      // dhclient-script writes resolv.conf after it set the address: wait for it too.
      const resolv = await waitFor(
        "dhclient-script to write resolv.conf",
        BOOT_MS,
        () => {
          const text = readInside(pid, "/etc/resolv.conf") ?? "";
          return text.includes(`nameserver ${net.bridgeIp}`) ? text : undefined;
        },
      ).catch((err) => `${err}: ${readInside(pid, "/etc/resolv.conf")}`);
      assert(resolv.includes(`nameserver ${net.bridgeIp}`), `dhclient-script did not write resolv.conf:\n${resolv}`);
      const ping = await net.runInNetns(["busybox", "ping", "-c", "1", "-W", "5", address]);
      assert.deepEqual(ping.code, 0, ping.stdout + ping.stderr);

      await stopAndCheck(net, c);
      // rc 0 ran `ifdown -a`, whose `dhclient -r` gave the lease back: the halt was a real shutdown.
      await waitFor(
        "dnsmasq to log the release",
        5_000,
        () => net.dnsmasqLog().includes(`DHCPRELEASE(br0) ${address}`) || undefined,
      )
        .catch((err) => assert(false, `${err}:\n${net.dnsmasqLog()}`));
    } finally {
      await net.cleanup();
      Deno.removeSync(parent, { recursive: true });
    }
  },
});

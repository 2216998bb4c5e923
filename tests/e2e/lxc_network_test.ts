/**
 * Networking end to end: the busybox fixture converted by the CLI with
 * `--net`, started by `lxc-start` inside a network namespace the test made
 * (bridge + dnsmasq there, never on the host's network). The entrypoint is
 * overridden so the app's first act records the address, routes and
 * resolv.conf it sees: the network must be ready before the app starts.
 */
import assert from "node:assert/strict";
import { findDhcpClients } from "../../core/network/dhcp_processes.ts";
import { networkPaths } from "../../core/network/network_dir.ts";
import { createTestNetwork, netnsMissing } from "./_netns.ts";
import { lxcMissing } from "../lxc/_real_lxc.ts";
import { cli } from "./_cli.ts";
import { waitFor } from "../_helpers/wait_for.ts";

const RECORD = [
  "/bin/sh",
  "-c",
  "{ ip -4 -o addr show dev eth0; ip -4 route; cat /etc/resolv.conf; } > /data/net.tmp 2>&1; mv /data/net.tmp /data/net; exec sleep 100000",
];

function requireAll(): void {
  const why = lxcMissing() ?? netnsMissing();
  if (why) throw new Error(`Cannot run the network end-to-end tests: ${why}`);
}

async function convertWithNet(parent: string, name: string, net: string): Promise<string> {
  const dest = `${parent}/${name}`;
  const r = await cli("main.ts", [
    "convert",
    "oci-archive:fixtures/images/busybox.oci.tar",
    dest,
    "--quiet",
    "--net",
    net,
    "--entrypoint",
    JSON.stringify(RECORD),
    "--user",
    "0",
  ]);
  assert.deepEqual(r.code, 0, r.stderr);
  return dest;
}

function readSeen(dest: string): Promise<string> {
  return waitFor("the app's record of its network", 20_000, () => {
    try {
      return Deno.readTextFileSync(`${dest}/rootfs/data/net`);
    } catch {
      return undefined;
    }
  });
}

Deno.test({
  name:
    "convert --net ip=dhcp: the app starts with a lease from the test's DHCP server, renews it, and lxc-stop ends the client",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    requireAll();
    await using net = await createTestNetwork({ leaseSeconds: 120 });
    const parent = Deno.makeTempDirSync({ prefix: "oci2lxc-e2e-net-" });
    try {
      const name = `o2l-dhcp-${crypto.randomUUID().slice(0, 6)}`;
      const dest = await convertWithNet(parent, name, `link=${net.bridge},ip=dhcp`);
      const started = await net.startContainerInNetns(name, parent, `${parent}/lxc.log`);
      assert.deepEqual(started.code, 0, started.stderr + started.stdout);
      const seen = await readSeen(dest);
      const address = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(seen)?.[1];
      assert(address !== undefined && net.inRange(address), `no leased address before the app started:\n${seen}`);
      assert(seen.includes(`default via ${net.bridgeIp} dev eth0`), `no default route via the server:\n${seen}`);
      assert(seen.includes(`nameserver ${net.bridgeIp}`), `resolv.conf does not name the server:\n${seen}`);
      assert(net.dnsmasqLog().includes(`DHCPACK(br0) ${address}`), net.dnsmasqLog());

      // busybox udhcpc renews at half the lease (dnsmasq's minimum is 120 s): wait for the second ACK.
      const paths = networkPaths(dest);
      const clients = findDhcpClients(paths);
      assert.deepEqual(clients.length, 1, "one DHCP client for eth0");
      await waitFor("a lease renewal", 90_000, () => {
        const acks = net.dnsmasqLog().split("\n").filter((l) => l.includes(`DHCPACK(br0) ${address}`));
        return acks.length >= 2 ? true : undefined;
      });
      assert.deepEqual(findDhcpClients(paths), clients, "the client is still the same process after renewing");

      const stopped = await net.lxc("lxc-stop", ["-n", name, "-P", parent, "-t", "10"]);
      assert.deepEqual(stopped.code, 0, stopped.stderr);
      await waitFor("the DHCP client to end", 10_000, () => findDhcpClients(paths).length === 0 ? true : undefined);
    } finally {
      await net.cleanup();
      Deno.removeSync(parent, { recursive: true });
    }
  },
});

Deno.test({
  name: "convert --net ip=CIDR,gw=…: LXC sets the address and default route before the app's first line",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    requireAll();
    await using net = await createTestNetwork({ dhcp: false });
    const parent = Deno.makeTempDirSync({ prefix: "oci2lxc-e2e-net-" });
    try {
      const name = `o2l-static-${crypto.randomUUID().slice(0, 6)}`;
      const address = `${net.subnet}.50`;
      const dest = await convertWithNet(parent, name, `link=${net.bridge},ip=${address}/24,gw=${net.bridgeIp}`);
      const started = await net.startContainerInNetns(name, parent, `${parent}/lxc.log`);
      assert.deepEqual(started.code, 0, started.stderr + started.stdout);
      const seen = await readSeen(dest);
      assert(seen.includes(`inet ${address}/24`), seen);
      assert(seen.includes(`default via ${net.bridgeIp} dev eth0`), seen);
      // The bridge side reaches the app's address: traffic stays inside our namespace.
      const ping = await net.runInNetns(["busybox", "ping", "-c", "1", "-W", "5", address]);
      assert.deepEqual(ping.code, 0, ping.stdout + ping.stderr);
      const stopped = await net.lxc("lxc-stop", ["-n", name, "-P", parent, "-t", "10"]);
      assert.deepEqual(stopped.code, 0, stopped.stderr);
    } finally {
      await net.cleanup();
      Deno.removeSync(parent, { recursive: true });
    }
  },
});

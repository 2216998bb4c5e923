/**
 * The DHCP hook against a real dnsmasq, without LXC: a private namespace
 * with a bridge and dnsmasq (tests/e2e/_netns.ts), and a second namespace
 * wired to it with a `sleep` inside playing the container's init
 * (LXC_PID). Needs root, iproute2, dnsmasq and busybox; set
 * OCI2LXC_SKIP_LXC_TESTS=1 to skip these system tests.
 */
import assert from "node:assert/strict";
import { startDhcp, stopDhcp } from "../../core/network/dhcp_hook.ts";
import { findDhcpClients } from "../../core/network/dhcp_processes.ts";
import { networkPaths, prepareNetworkDir } from "../../core/network/network_dir.ts";
import { createTestNetwork, isGone, netnsMissing, type PeerNamespace, run, type TestNetwork } from "../e2e/_netns.ts";
import { systemTest } from "../_helpers/tier.ts";
import { waitFor } from "../_helpers/wait_for.ts";

const SKIP = Deno.env.get("OCI2LXC_SKIP_LXC_TESTS") === "1";
const SLOW = Deno.env.get("OCI2LXC_SLOW_TESTS") === "1";
const HOOK_MAIN = new URL("./_hook_main.ts", import.meta.url).pathname;

function requireNetns(): void {
  const why = netnsMissing();
  if (why) throw new Error(`Cannot run namespace tests: ${why} (set OCI2LXC_SKIP_LXC_TESTS=1 to skip them)`);
}

function hasDhclient(): boolean {
  return ["/sbin/dhclient", "/usr/sbin/dhclient"].some((p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  });
}

/** Run `oci2lxc hook …` the way LXC does: a separate process, LXC's words after `--`. */
function hook(args: string[], env: Record<string, string> = {}) {
  return run([Deno.execPath(), "run", "-A", "--quiet", HOOK_MAIN, "hook", ...args], { env, timeoutMs: 60_000 });
}

async function peerAddress(net: TestNetwork, peer: PeerNamespace): Promise<string | undefined> {
  const out = await net.runInPeer(peer, ["ip", "-4", "-o", "addr", "show", "dev", peer.iface]);
  return /inet (\d+\.\d+\.\d+\.\d+)\/24/.exec(out.stdout)?.[1];
}

function countAcks(net: TestNetwork, address: string): number {
  return net.dnsmasqLog().split("\n").filter((l) => l.includes(`DHCPACK(${net.bridge}) ${address} `)).length;
}

function withDest<T>(fn: (dest: string) => Promise<T>): Promise<T> {
  const dest = Deno.makeTempDirSync({ prefix: "oci2lxc dhcp dest " });
  prepareNetworkDir(dest);
  return fn(dest).finally(async () => {
    await stopDhcp({ dir: dest, graceMs: 500 }).catch(() => {});
    Deno.removeSync(dest, { recursive: true });
  });
}

systemTest({
  name: "hook dhcp start gives the interface a lease, default route and resolv.conf; the client renews; stop ends it",
  ignore: SKIP,
  async fn() {
    requireNetns();
    await using net = await createTestNetwork();
    const peer = await net.addPeer();
    await withDest(async (dest) => {
      const paths = networkPaths(dest);
      const inode = Deno.statSync(paths.resolvConf).ino;
      const started = performance.now();
      const out = await hook([
        "dhcp",
        "start",
        "--dir",
        dest,
        "--v4",
        "eth0",
        "--timeout",
        "15",
        "--",
        "web-1",
        "lxc",
        "start-host",
      ], {
        LXC_PID: String(peer.pid),
      });
      const took = performance.now() - started;
      assert.deepEqual(out.code, 0, out.stderr);
      // The hook returned (the client is detached) when the lease came, not at its 15 s timeout.
      assert(took < 15_000, `hook start took ${took} ms`);

      const address = await peerAddress(net, peer);
      assert(address !== undefined && net.inRange(address), `no leased address on eth0: ${address}`);
      assert(out.stdout.includes(`eth0/v4 ${address}/24`), out.stdout);
      const routes = (await net.runInPeer(peer, ["ip", "-4", "route", "show", "default"])).stdout;
      assert(routes.includes(`default via ${net.bridgeIp} dev eth0`), routes);
      const resolv = Deno.readTextFileSync(paths.resolvConf);
      assert(resolv.includes(`nameserver ${net.bridgeIp}\n`), resolv);
      assert(resolv.includes("search oci2lxc.test\n"), resolv);
      assert.deepEqual(
        Deno.statSync(paths.resolvConf).ino,
        inode,
        "resolv.conf was replaced instead of rewritten in place",
      );
      // The lease carries our host name (the container name LXC appends).
      assert(net.dnsmasqLog().includes(`DHCPACK(${net.bridge}) ${address} `), net.dnsmasqLog());
      assert(Deno.readTextFileSync(net.leaseFile).includes(" web-1 "), Deno.readTextFileSync(net.leaseFile));

      // One client, detached: its own session, outliving the hook.
      const clients = findDhcpClients(paths);
      assert.deepEqual(clients.length, 1);
      const client = clients[0]!;
      const stat = Deno.readTextFileSync(`/proc/${client}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      assert.deepEqual(fields[3], String(client), "the client should lead its own session");

      // A renewal (forced with SIGUSR1, as the T1 timer would) reaches the server and keeps the address.
      const acks = countAcks(net, address!);
      Deno.kill(client, "SIGUSR1");
      await waitFor("a second DHCPACK", 10_000, () => countAcks(net, address!) > acks);
      await waitFor(
        "the renew event in dhcp.log",
        5_000,
        () => Deno.readTextFileSync(paths.log).includes("eth0: renew: "),
      );
      assert(!isGone(client), "the client died after renewing");
      assert.deepEqual(await peerAddress(net, peer), address);

      const stopped = await hook(["dhcp", "stop", "--dir", dest, "--", "web-1", "lxc", "stop"]);
      assert.deepEqual(stopped.code, 0, stopped.stderr);
      assert.deepEqual(stopped.stdout.trim(), "oci2lxc dhcp: stopped 1 client(s)");
      assert(isGone(client), "the client survived stop");
      assert.deepEqual(findDhcpClients(paths), []);
      // With the interface still there (unlike under LXC), -R released the lease.
      await waitFor("DHCPRELEASE", 5_000, () => net.dnsmasqLog().includes(`DHCPRELEASE(${net.bridge}) ${address} `));
      assert.deepEqual(Deno.readTextFileSync(paths.resolvConf).includes("nameserver"), false);
      assert.deepEqual(Deno.statSync(paths.resolvConf).ino, inode);
    });
  },
});

systemTest({
  name: "startDhcp returns after its timeout when no server answers, and the client keeps trying until stopDhcp",
  ignore: SKIP,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    requireNetns();
    await using net = await createTestNetwork({ dhcp: false });
    const peer = await net.addPeer();
    await withDest(async (dest) => {
      const started = performance.now();
      const result = await startDhcp({ dir: dest, pid: peer.pid, v4: ["eth0"], v6: [], timeoutMs: 1500 });
      const took = performance.now() - started;
      // It waited out its timeout, and not much longer (10 s is a bound against a hang, far above it).
      assert(took >= 1500 && took < 10_000, `took ${took} ms`);
      assert.deepEqual(result.errors, []);
      assert.deepEqual(result.clients.map((c) => [c.iface, c.family, c.program, c.address]), [[
        "eth0",
        4,
        "udhcpc",
        undefined,
      ]]);
      const pid = result.clients[0]!.pid;
      assert(!isGone(pid), "the client should keep trying");
      assert(Deno.readTextFileSync(result.log).includes("no IPv4 lease on eth0 within 1500 ms"));
      assert.deepEqual(await stopDhcp({ dir: dest }), 1);
      assert(isGone(pid));
    });
  },
});

systemTest({
  name: "startDhcp ends the clients of an earlier run before starting new ones",
  ignore: SKIP,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    requireNetns();
    await using net = await createTestNetwork({ dhcp: false });
    const peer = await net.addPeer();
    await withDest(async (dest) => {
      const first = await startDhcp({ dir: dest, pid: peer.pid, v4: ["eth0"], v6: [], timeoutMs: 0 });
      // The next run must see the first client as one of ours, whatever the load: wait until it does.
      await waitFor(
        "the first client to be found",
        10_000,
        () => findDhcpClients(networkPaths(dest)).includes(first.clients[0]!.pid) || undefined,
      );
      const second = await startDhcp({ dir: dest, pid: peer.pid, v4: ["eth0"], v6: [], timeoutMs: 0 });
      // It was signalled; under load the kernel may take a moment to reap it.
      await waitFor("the first client to end", 5_000, () => isGone(first.clients[0]!.pid) || undefined);
      // Read until it holds: a client forking its event script shows up twice for a moment.
      const want = [second.clients[0]!.pid];
      const found = await waitFor("only the second client", 5_000, () => {
        const now = findDhcpClients(networkPaths(dest));
        return JSON.stringify(now) === JSON.stringify(want) ? now : undefined;
      }).catch(() => findDhcpClients(networkPaths(dest)));
      assert.deepEqual(found, want, `clients found; dhcp.log:\n${Deno.readTextFileSync(second.log)}`);
    });
  },
});

systemTest({
  name: "startDhcp reports a client that exits at once (no such interface) without waiting for the timeout",
  ignore: SKIP,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    requireNetns();
    await using net = await createTestNetwork({ dhcp: false });
    const peer = await net.addPeer();
    await withDest(async (dest) => {
      const started = performance.now();
      const result = await startDhcp({ dir: dest, pid: peer.pid, v4: ["nope0"], v6: [], timeoutMs: 8000 });
      const waited = performance.now() - started;
      assert(waited < 8000, `waited ${waited} ms for a dead client: the 8 s timeout, not its exit, ended the wait`);
      assert.deepEqual(result.errors.length, 1);
      assert(result.errors[0]!.includes("udhcpc for IPv4 on nope0 exited at once"), result.errors[0]);
      assert(Deno.readTextFileSync(result.log).includes("nope0"), "the client's own complaint should be in dhcp.log");
    });
  },
});

systemTest({
  name: "hook dhcp refuses a missing LXC_PID, a relative --dir and an unknown hook with usage errors",
  ignore: SKIP,
  async fn() {
    const noPid = await hook(["dhcp", "start", "--dir", "/tmp/x", "--v4", "eth0"]);
    assert.deepEqual(noPid.code, 2);
    assert(noPid.stderr.includes("error: Cannot run hook dhcp start: LXC_PID is not set"), noPid.stderr);
    const relative = await hook(["dhcp", "stop", "--dir", "x"]);
    assert.deepEqual(relative.code, 2);
    assert(relative.stderr.includes("--dir DEST (an absolute path) is required"), relative.stderr);
    const unknown = await hook(["mount", "start", "--dir", "/tmp/x"]);
    assert.deepEqual(unknown.code, 2);
    assert(unknown.stderr.includes('Cannot run hook "mount": the only hook is dhcp'), unknown.stderr);
  },
});

systemTest({
  name: "startDhcp refuses a process in the host's network namespace and starts no client",
  ignore: SKIP,
  async fn() {
    requireNetns();
    await withDest(async (dest) => {
      const result = await startDhcp({ dir: dest, pid: Deno.pid, v4: ["eth0"], v6: [], timeoutMs: 0 });
      assert.deepEqual(result.clients, []);
      assert.deepEqual(result.errors.length, 1);
      assert(result.errors[0]!.includes("shares this host's network namespace"), result.errors[0]);
      assert.deepEqual(findDhcpClients(networkPaths(dest)), []);
    });
  },
});

systemTest({
  name: "hook dhcp start with ISC dhclient leases an address and stop ends it",
  ignore: SKIP || !hasDhclient(),
  async fn() {
    requireNetns();
    await using net = await createTestNetwork();
    const peer = await net.addPeer();
    await withDest(async (dest) => {
      const out = await hook([
        "dhcp",
        "start",
        "--dir",
        dest,
        "--v4",
        "eth0",
        "--client",
        "dhclient",
        "--timeout",
        "15",
        "--",
        "web-2",
      ], {
        LXC_PID: String(peer.pid),
      });
      assert.deepEqual(out.code, 0, out.stderr);
      const address = await peerAddress(net, peer);
      assert(
        address !== undefined && net.inRange(address),
        `no leased address: ${out.stdout} ${Deno.readTextFileSync(`${dest}/network/dhcp.log`)}`,
      );
      const routes = (await net.runInPeer(peer, ["ip", "-4", "route", "show", "default"])).stdout;
      assert(routes.includes(`default via ${net.bridgeIp} dev eth0`), routes);
      assert(Deno.readTextFileSync(`${dest}/network/resolv.conf`).includes(`nameserver ${net.bridgeIp}\n`));
      const clients = findDhcpClients(networkPaths(dest));
      assert.deepEqual(clients.length, 1);
      const stopped = await hook(["dhcp", "stop", "--dir", dest]);
      assert.deepEqual(stopped.code, 0, stopped.stderr);
      assert(clients.every(isGone));
    });
  },
});

systemTest({
  name: "hook dhcp start with ISC dhclient -6 leases an IPv6 address from dnsmasq",
  ignore: SKIP || !hasDhclient(),
  async fn() {
    requireNetns();
    await using net = await createTestNetwork({ ipv6: true });
    const peer = await net.addPeer();
    await withDest(async (dest) => {
      const out = await hook(["dhcp", "start", "--dir", dest, "--v6", "eth0", "--timeout", "20", "--", "web-3"], {
        LXC_PID: String(peer.pid),
      });
      assert.deepEqual(out.code, 0, out.stderr);
      const addrs =
        (await net.runInPeer(peer, ["ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "global"])).stdout;
      const prefix = net.bridgeIp6.replace(/::1$/, "::");
      assert(
        new RegExp(`inet6 ${prefix}1[0-9a-f]{2}/128`).test(addrs),
        `${addrs}\n${Deno.readTextFileSync(`${dest}/network/dhcp.log`)}`,
      );
      assert(Deno.readTextFileSync(`${dest}/network/resolv.conf`).includes(`nameserver ${net.bridgeIp6}\n`));
      const stopped = await hook(["dhcp", "stop", "--dir", dest]);
      assert.deepEqual(stopped.code, 0, stopped.stderr);
      assert.deepEqual(findDhcpClients(networkPaths(dest)), []);
    });
  },
});

systemTest({
  name: "the udhcpc client renews by itself at T1 (half the 2-minute lease) and keeps its address",
  ignore: SKIP || !SLOW,
  async fn() {
    requireNetns();
    await using net = await createTestNetwork({ leaseSeconds: 120 });
    const peer = await net.addPeer();
    await withDest(async (dest) => {
      const out = await hook(["dhcp", "start", "--dir", dest, "--v4", "eth0", "--", "web-4"], {
        LXC_PID: String(peer.pid),
      });
      assert.deepEqual(out.code, 0, out.stderr);
      const address = await peerAddress(net, peer);
      assert(address !== undefined);
      // busybox udhcpc ignores option 58 (T1) and renews at half the lease: 60 s here.
      await waitFor("the renewal at T1", 90_000, () => countAcks(net, address!) >= 2);
      assert.deepEqual(await peerAddress(net, peer), address);
      assert.deepEqual(findDhcpClients(networkPaths(dest)).length, 1);
    });
  },
});

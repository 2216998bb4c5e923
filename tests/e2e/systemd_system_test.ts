/**
 * A Debian system container with systemd end to end: a real Debian bookworm
 * with systemd-sysv and systemd-resolved and no ifupdown (built before the
 * tests by scripts/test.sh, cached by tests/_helpers/debian_rootfs.ts),
 * converted by the CLI with `--net`, booted by `lxc-start` inside a network
 * namespace the test made (bridge, DHCP and DNS there, never on the host's
 * network), on this host's cgroup v1 hierarchies. systemd must reach its
 * default target, systemd-networkd must configure eth0 from the `.network`
 * file the converter wrote (LXC is given no address), names must resolve
 * through the resolv.conf the image ends up with, and `lxc-stop` must halt
 * systemd through SIGRTMIN+3 without a kill.
 */
import assert from "node:assert/strict";
import { DEBIAN_SYSTEMD_PACKAGES, debianSystemImage } from "../_helpers/debian_rootfs.ts";
import { lxcMissing } from "../lxc/_real_lxc.ts";
import { createTestNetwork, netnsMissing, run, type RunOutput, type TestNetwork } from "./_netns.ts";
import { cli, PROJECT_ROOT } from "./_cli.ts";
import { waitFor } from "../_helpers/wait_for.ts";

// systemd boots in a few seconds alone; the machine's two cores are shared with other tests.
const BOOT_MS = 180_000;
// systemd's own stop timeouts (90 s per unit) are never reached by this image's units; no kill follows it.
const STOP_TIMEOUT_S = 90;
const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/** A name only the test's DNS server knows, and its address (TEST-NET-1, never routed). */
const PROBE_NAME = "probe.oci2lxc.test";
const PROBE_ADDRESS = "192.0.2.77";

function requireAll(): void {
  const why = lxcMissing() ?? netnsMissing();
  if (why) throw new Error(`Cannot run the systemd system container tests: ${why}`);
}

interface Booted {
  dest: string;
  name: string;
  parent: string;
  consoleLog: string;
  logFile: string;
}

/**
 * Run the CLI from main.ts in a mount namespace of its own where the host's
 * /etc/resolv.conf is `resolvConf`: what the converter reads as the host's
 * name servers, without touching the host's file.
 */
async function cliWithHostResolvConf(resolvConf: string, args: readonly string[]): Promise<RunOutput> {
  return await run([
    "unshare",
    "--mount",
    "--propagation",
    "private",
    "sh",
    "-c",
    'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"',
    "sh",
    resolvConf,
    Deno.execPath(),
    "run",
    "-A",
    "--quiet",
    `${PROJECT_ROOT}main.ts`,
    ...args,
  ], { timeoutMs: 300_000, env: { NO_COLOR: "1" } });
}

/**
 * Build the image in `parent`, convert it with `--net` (the host's
 * resolv.conf seen as `hostResolvConf` when given), and check the plan is
 * systemd's.
 */
async function convert(parent: string, name: string, netSpec: string, hostResolvConf?: string): Promise<Booted> {
  const imageDir = `${parent}/image`;
  // Several containers in one test share the image, as containers made from one image do.
  if (![...Deno.readDirSync(parent)].some((e) => e.name === "image")) {
    await debianSystemImage(imageDir, { include: DEBIAN_SYSTEMD_PACKAGES });
  }
  const dest = `${parent}/${name}`;
  const args = ["convert", `oci:${imageDir}`, dest, "--json", "--quiet", "--net", netSpec];
  const r = hostResolvConf ? await cliWithHostResolvConf(hostResolvConf, args) : await cli("main.ts", args);
  assert.deepEqual(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.deepEqual(report.container.kind, "system");
  assert.deepEqual(report.container.argv, ["/sbin/init"]);
  assert.deepEqual(report.container.stopSignal, "SIGRTMIN+3");
  const config = Deno.readTextFileSync(`${dest}/config`);
  assert(!/^lxc\.net\.0\.ipv4\./m.test(config), `LXC must not set the address of a system container:\n${config}`);
  assert(config.includes("lxc.signal.halt = SIGRTMIN+3"), config);
  // The console is where systemd reports its targets, up and down; keep it in a file the test reads.
  const consoleLog = `${parent}/${name}.console.log`;
  Deno.writeTextFileSync(`${dest}/config`, `${config.replace(/\n*$/, "\n")}lxc.console.logfile = ${consoleLog}\n`);
  return { dest, name, parent, consoleLog, logFile: `${parent}/${name}.lxc.log` };
}

function tail(path: string, label: string, lines = 60): string {
  try {
    return `\n--- ${label} (tail)\n${Deno.readTextFileSync(path).split("\n").slice(-lines).join("\n")}`;
  } catch {
    return "";
  }
}

function logs(c: Booted): string {
  return tail(c.consoleLog, "console") + tail(c.logFile, "lxc.log", 30);
}

async function start(net: TestNetwork, c: Booted): Promise<number> {
  const started = await net.startContainerInNetns(c.name, c.parent, c.logFile);
  assert.deepEqual(started.code, 0, started.stderr + started.stdout + logs(c));
  const info = await net.lxc("lxc-info", ["-n", c.name, "-P", c.parent, "-p", "-H"]);
  const pid = Number(info.stdout.trim());
  assert(info.code === 0 && pid > 0, `no init pid: ${info.stdout}${info.stderr}`);
  return pid;
}

/** Run argv inside the container with lxc-attach (from the test's namespace, where LXC's command socket is). */
function inside(net: TestNetwork, c: Booted, argv: readonly string[]): Promise<RunOutput> {
  return net.lxc("lxc-attach", ["-n", c.name, "-P", c.parent, "--", ...argv]);
}

/**
 * Wait (bounded) until `systemctl is-system-running` leaves `initializing`
 * and `starting`; it must then say `running`. Anything else (`degraded`:
 * a unit failed) fails the test with the failed units listed, since a unit
 * that fails in a converted container is what this test is here to find.
 */
async function waitForBoot(net: TestNetwork, c: Booted): Promise<string> {
  // Each poll is an lxc-attach: a few per second are plenty while two cores are shared.
  const state = await waitFor("systemd to finish booting", BOOT_MS, async () => {
    const r = await inside(net, c, ["systemctl", "is-system-running"]);
    const s = r.stdout.trim();
    return s !== "" && s !== "initializing" && s !== "starting" && s !== "offline" ? s : undefined;
  }, { everyMs: 250 }).catch((err) => {
    throw new Error(`${(err as Error).message}${logs(c)}`);
  });
  if (state !== "running") {
    const failed = await inside(net, c, ["systemctl", "--failed", "--no-legend", "--plain"]);
    assert(false, `systemd is ${state}; failed units:\n${failed.stdout}${failed.stderr}${logs(c)}`);
  }
  return state;
}

/** The IPv4 CIDR on the container's eth0, seen from the host through the init's network namespace. */
async function addressOf(pid: number): Promise<string | undefined> {
  const out = await run(["nsenter", `--net=/proc/${pid}/ns/net`, "ip", "-4", "-o", "addr", "show", "dev", "eth0"]);
  return /inet (\d+\.\d+\.\d+\.\d+\/\d+)/.exec(out.stdout)?.[1];
}

async function routesOf(pid: number): Promise<string> {
  return (await run(["nsenter", `--net=/proc/${pid}/ns/net`, "ip", "-4", "route"])).stdout;
}

/**
 * A DNS server on the bridge address, beside the test network's DHCP-only
 * dnsmasq: it knows {@linkcode PROBE_NAME} and logs every query, so the test
 * sees the container's lookup arrive. TestNetwork's cleanup kills it with
 * everything else in the namespace.
 */
async function startDns(net: TestNetwork): Promise<{ log: () => string; stop: () => Promise<void> }> {
  const logPath = `${net.dir}/dns.log`;
  const child = new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      net.ns,
      "dnsmasq",
      "--keep-in-foreground",
      "--conf-file=/dev/null",
      `--listen-address=${net.bridgeIp}`,
      "--bind-interfaces",
      "--no-resolv",
      "--no-hosts",
      `--host-record=${PROBE_NAME},${PROBE_ADDRESS}`,
      "--log-queries",
      `--log-facility=${logPath}`,
      `--pid-file=${net.dir}/dns.pid`,
      "--user=root",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
    env: { PATH: SYSTEM_PATH },
  }).spawn();
  net.track(child.pid);
  const log = () => {
    try {
      return Deno.readTextFileSync(logPath);
    } catch {
      return "";
    }
  };
  await waitFor("the DNS server to start", 10_000, () => log().includes("started, version") || undefined);
  return {
    log,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await Promise.race([child.status, new Promise((r) => setTimeout(r, 3000))]);
    },
  };
}

/**
 * `lxc-stop --nokill`: only SIGRTMIN+3, never a kill, so success means
 * systemd really shut down; then the container must be STOPPED and systemd
 * must have said on the console that it reached its halt target.
 */
async function stopAndCheck(net: TestNetwork, c: Booted): Promise<void> {
  const stopped = await net.lxc(
    "lxc-stop",
    ["-n", c.name, "-P", c.parent, "--nokill", "-t", String(STOP_TIMEOUT_S)],
    (STOP_TIMEOUT_S + 20) * 1000,
  );
  if (stopped.code !== 0) {
    await net.lxc("lxc-stop", ["-n", c.name, "-P", c.parent, "-k"]);
    assert(false, `systemd did not halt on SIGRTMIN+3 within ${STOP_TIMEOUT_S} s: ${stopped.stderr}${logs(c)}`);
  }
  const state = await net.lxc("lxc-info", ["-n", c.name, "-P", c.parent, "-s", "-H"]);
  assert.deepEqual(state.stdout.trim(), "STOPPED", state.stderr);
  // systemd-shutdown's last words, then the kernel ends a pid namespace's init with SIGINT for a halt
  // (SIGHUP would be a reboot), which LXC logs.
  const console = Deno.readTextFileSync(c.consoleLog);
  assert(
    console.includes("Reached target shutdown.target") && console.includes("Halting system."),
    `systemd did not report its shutdown on the console${logs(c)}`,
  );
  const lxcLog = Deno.readTextFileSync(c.logFile);
  assert(lxcLog.includes(`Container "${c.name}" is halting`), `LXC did not see a halt${logs(c)}`);
}

Deno.test({
  name:
    "a Debian systemd system container converted with --net ip=dhcp boots, gets a networkd lease and resolves names",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    requireAll();
    await using net = await createTestNetwork({ leaseSeconds: 120 });
    const parent = Deno.makeTempDirSync({ prefix: "oci2lxc-e2e-systemd-" });
    let dns: Awaited<ReturnType<typeof startDns>> | undefined;
    try {
      dns = await startDns(net);
      const served = dns;
      const c = await convert(parent, `o2l-sd-dhcp-${crypto.randomUUID().slice(0, 6)}`, `link=${net.bridge},ip=dhcp`);
      const network = Deno.readTextFileSync(`${c.dest}/rootfs/etc/systemd/network/50-oci2lxc-eth0.network`);
      assert(network.includes("[Match]\nName=eth0\n") && network.includes("DHCP=ipv4\n"), network);
      const config = Deno.readTextFileSync(`${c.dest}/config`);
      assert(!config.includes("hook dhcp"), `no host-side DHCP hook for a system container:\n${config}`);

      const pid = await start(net, c);
      await waitForBoot(net, c);
      const cidr = await waitFor("networkd to get a lease", 30_000, () => addressOf(pid));
      const address = cidr.split("/")[0]!;
      assert(net.inRange(address) && cidr.endsWith("/24"), `${cidr} is not from the DHCP range`);
      await waitFor(
        "dnsmasq to log the lease",
        5_000,
        () => net.dnsmasqLog().includes(`DHCPACK(br0) ${address}`) || undefined,
      ).catch((err) => assert(false, `${err}:\n${net.dnsmasqLog()}`));
      await waitFor("the default route", 10_000, async () => {
        const r = await routesOf(pid);
        return r.includes(`default via ${net.bridgeIp} dev eth0`) ? r : undefined;
      }).catch(async (err) => assert(false, `${err}:\n${await routesOf(pid)}`));

      // The lease names the bridge as DNS server; resolved must use it, and glibc must reach resolved.
      const lookup = await waitFor("a name to resolve inside the container", 30_000, async () => {
        const r = await inside(net, c, ["getent", "hosts", PROBE_NAME]);
        return r.code === 0 ? r.stdout : undefined;
      }).catch(async (err) => {
        const resolv = await inside(net, c, ["cat", "/etc/resolv.conf"]);
        const status = await inside(net, c, ["resolvectl", "status"]);
        throw new Error(
          `${(err as Error).message}\n--- /etc/resolv.conf\n${resolv.stdout}${resolv.stderr}\n--- resolvectl status\n` +
            `${status.stdout}${status.stderr}\n--- dns.log\n${served.log()}`,
        );
      });
      assert.deepEqual(lookup.trim().split(/\s+/)[0], PROBE_ADDRESS, lookup);
      // The image's resolv.conf is resolved's stub (systemd-resolved's package made it so); the converter keeps it.
      const resolv = await inside(net, c, ["cat", "/etc/resolv.conf"]);
      assert(resolv.stdout.includes("nameserver 127.0.0.53"), resolv.stdout + resolv.stderr);
      // networkd had nothing to complain about (such as a DHCP hostname it was not allowed to set).
      const warnings = await inside(net, c, [
        "journalctl",
        "-b",
        "-q",
        "--no-pager",
        "-p",
        "warning",
        "-u",
        "systemd-networkd",
      ]);
      assert.deepEqual(warnings.stdout, "", `systemd-networkd logged warnings:\n${warnings.stdout}${warnings.stderr}`);
      assert(
        served.log().includes(`${PROBE_NAME} from ${address}`),
        `the query did not come from ${address}:\n${served.log()}`,
      );

      await stopAndCheck(net, c);
    } finally {
      await dns?.stop();
      await net.cleanup();
      Deno.removeSync(parent, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "a Debian systemd system container converted with a static --net boots with networkd's address and the host's DNS",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    requireAll();
    await using net = await createTestNetwork({ dhcp: false });
    const parent = Deno.makeTempDirSync({ prefix: "oci2lxc-e2e-systemd-" });
    let dns: Awaited<ReturnType<typeof startDns>> | undefined;
    try {
      dns = await startDns(net);
      const served = dns;
      // The converter gives a static interface the host's name servers; here the "host" names the test's DNS server.
      const hostResolvConf = `${parent}/host-resolv.conf`;
      Deno.writeTextFileSync(hostResolvConf, `nameserver 127.0.0.53\nnameserver ${net.bridgeIp}\nsearch example.org\n`);
      const address = `${net.subnet}.61`;
      const c = await convert(
        parent,
        `o2l-sd-static-${crypto.randomUUID().slice(0, 6)}`,
        `name=eth0,link=${net.bridge},ip=${address}/24,gw=${net.bridgeIp}`,
        hostResolvConf,
      );
      const network = Deno.readTextFileSync(`${c.dest}/rootfs/etc/systemd/network/50-oci2lxc-eth0.network`);
      assert(network.includes(`Address=${address}/24\nGateway=${net.bridgeIp}\nDNS=${net.bridgeIp}\n`), network);
      assert(!network.includes("127.0.0.53"), network);

      const pid = await start(net, c);
      await waitForBoot(net, c);
      const cidr = await waitFor("networkd to configure eth0", 30_000, () => addressOf(pid));
      assert.deepEqual(cidr, `${address}/24`);
      const routes = await waitFor("the default route", 10_000, async () => {
        const r = await routesOf(pid);
        return r.includes(`default via ${net.bridgeIp} dev eth0`) ? r : undefined;
      });
      assert(routes.includes(`${net.subnet}.0/24 dev eth0`), routes);
      const ping = await net.runInNetns(["busybox", "ping", "-c", "1", "-W", "5", address]);
      assert.deepEqual(ping.code, 0, ping.stdout + ping.stderr);
      // The container's own name resolves from /etc/hosts, other names through resolved and the host's server.
      const self = await inside(net, c, ["getent", "hosts", c.name]);
      assert.deepEqual(self.stdout.trim().split(/\s+/)[0], "127.0.1.1", self.stdout + self.stderr);
      const lookup = await waitFor("a name to resolve inside the container", 30_000, async () => {
        const r = await inside(net, c, ["getent", "hosts", PROBE_NAME]);
        return r.code === 0 ? r.stdout : undefined;
      }).catch(async (err) => {
        const status = await inside(net, c, ["resolvectl", "status"]);
        throw new Error(
          `${
            (err as Error).message
          }\n--- resolvectl status\n${status.stdout}${status.stderr}\n--- dns.log\n${served.log()}`,
        );
      });
      assert.deepEqual(lookup.trim().split(/\s+/)[0], PROBE_ADDRESS, lookup);
      assert(served.log().includes(`${PROBE_NAME} from ${address}`), served.log());

      await stopAndCheck(net, c);
    } finally {
      await dns?.stop();
      await net.cleanup();
      Deno.removeSync(parent, { recursive: true });
    }
  },
});

/** The DHCPv6 DUID networkd uses on eth0 (derived from the machine-id), as `networkctl status` shows it. */
async function duidOf(net: TestNetwork, c: Booted): Promise<string | undefined> {
  const r = await inside(net, c, ["networkctl", "status", "eth0", "--no-pager"]);
  return /DHCP6 Client DUID: (\S+)/.exec(r.stdout)?.[1];
}

Deno.test({
  name: "two Debian systemd system containers converted from one image run as two machines, with a lease each",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    requireAll();
    await using net = await createTestNetwork({ leaseSeconds: 120 });
    const parent = Deno.makeTempDirSync({ prefix: "oci2lxc-e2e-systemd-" });
    try {
      const tag = crypto.randomUUID().slice(0, 6);
      const spec = `link=${net.bridge},ip=dhcp`;
      const a = await convert(parent, `o2l-sd-a-${tag}`, spec);
      const b = await convert(parent, `o2l-sd-b-${tag}`, spec);
      // The image carries the machine-id Debian's systemd postinst wrote at build time.
      const ids = [a, b].map((c) => Deno.readTextFileSync(`${c.dest}/rootfs/etc/machine-id`));
      assert(/^[0-9a-f]{32}\n$/.test(ids[0]!), ids[0]);
      assert(ids[0] !== ids[1], `both containers have the machine-id ${ids[0]}`);

      const pids = [await start(net, a), await start(net, b)];
      await waitForBoot(net, a);
      await waitForBoot(net, b);
      const addresses = [];
      for (const pid of pids) {
        const cidr = await waitFor("networkd to get a lease", 30_000, () => addressOf(pid));
        addresses.push(cidr.split("/")[0]!);
      }
      assert(addresses[0] !== addresses[1], `both containers got ${addresses[0]}:\n${net.dnsmasqLog()}`);
      for (const address of addresses) assert(net.inRange(address), `${address} is not from the DHCP range`);
      // What systemd runs with is the converter's id, and what is derived from it differs too.
      for (const [i, c] of [a, b].entries()) {
        const running = await inside(net, c, ["cat", "/etc/machine-id"]);
        assert.deepEqual(running.stdout, ids[i], running.stderr);
      }
      const duids = [await duidOf(net, a), await duidOf(net, b)];
      assert(duids[0] !== undefined && duids[0] !== duids[1], `DUIDs: ${duids.join(", ")}`);

      await stopAndCheck(net, a);
      await stopAndCheck(net, b);
    } finally {
      await net.cleanup();
      Deno.removeSync(parent, { recursive: true });
    }
  },
});

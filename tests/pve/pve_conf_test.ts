import assert from "node:assert/strict";
import { Oci2LxcError } from "../../core/errors.ts";
import { splitInitCmdLikeLxc } from "../../core/lxc/quote_init_cmd.ts";
import type { ContainerPlan } from "../../core/plan/container_plan.ts";
import { makePlan, type PlanOptions } from "../../core/plan/make_plan.ts";
import { directoryRootfsReader } from "../../core/plan/rootfs_reader.ts";
import {
  parsePveTarget,
  parsePveVersion,
  type PveConfOptions,
  renderPveConf,
  renderPveConfig,
} from "../../core/pve/pve_conf.ts";
import type { PveVersion } from "../../core/pve/pve_init_cmd.ts";

const VERSIONS: readonly PveVersion[] = ["7", "8", "9.0", "9.1"];

/** Raw lxc keys pve-container whitelists before the OCI work (7, 8, 9.0), among those we could write. */
const RAW_BEFORE = new Set([
  "lxc.init.cmd",
  "lxc.signal.halt",
  "lxc.environment",
  "lxc.mount.entry",
  "lxc.include",
]);
/** Added for OCI images: in the first 9.1 release, pve-container 6.0.15 (its Config.pm at commit ee3850a). */
const RAW_6_0_15 = new Set([...RAW_BEFORE, "lxc.init.cwd", "lxc.environment.runtime"]);
/** pve-container 6.1.0 (commit c464df5) added the user keys. */
const RAW_6_1_0 = new Set([...RAW_6_0_15, "lxc.init.uid", "lxc.init.gid", "lxc.init.groups"]);
/** PVE's `mac-addr` format (pve-common JSONSchema.pm, pve_verify_mac_addr): unicast. */
const MAC_ADDR = /^[a-f0-9][02468ace](?::[a-f0-9]{2}){5}$/i;
const OPTIONS = new Set(["arch", "cmode", "hostname", "ostype", ...Array.from({ length: 10 }, (_, i) => `net${i}`)]);

/** What PVE's parse_pct_config makes of the text (its regexes), and what LXC then reads for each raw line. */
interface Parsed {
  description: string[];
  options: Map<string, string>;
  raw: [string, string][];
  /** Lines PVE would warn about and drop. */
  rejected: string[];
}

/** `pveContainer` "6.1" checks a 9.1 conf against pve-container 6.1.0's whitelist, else against 6.0.15's. */
function parsePct(text: string, version: PveVersion, pveContainer: "6.0" | "6.1" = "6.0"): Parsed {
  const out: Parsed = { description: [], options: new Map(), raw: [], rejected: [] };
  const whitelist = version !== "9.1" ? RAW_BEFORE : pveContainer === "6.1" ? RAW_6_1_0 : RAW_6_0_15;
  const options = version === "9.1" ? new Set([...OPTIONS, "entrypoint"]) : OPTIONS;
  assert.ok(text.endsWith("\n"));
  for (const line of text.slice(0, -1).split("\n")) {
    if (/^\s*$/.test(line)) continue;
    let m = /^#(.*)$/.exec(line);
    if (m) {
      out.description.push(decodeURIComponent(m[1]!));
      continue;
    }
    m = /^(lxc\.[a-z0-9_\-.]+)(:|\s*=)\s*(.*?)\s*$/.exec(line);
    if (m) {
      const key = m[1]!;
      if (whitelist.has(key) || /^lxc\.net\./.test(key)) out.raw.push([key, m[3]!]);
      else out.rejected.push(line);
      continue;
    }
    m = /^([a-z][a-z_]*\d*):\s*(.+?)\s*$/.exec(line);
    if (m && options.has(m[1]!)) {
      assert.ok(!out.options.has(m[1]!), `${m[1]} once`);
      out.options.set(m[1]!, m[2]!);
      continue;
    }
    out.rejected.push(line);
  }
  return out;
}

/** What LXC's config reader makes of a value: trimmed, one pair of outer quotes removed. */
function lxcValue(value: string): string {
  const v = value.trim();
  if (v.length >= 2 && (v[0] === '"' || v[0] === "'") && v[v.length - 1] === v[0]) return v.slice(1, -1);
  return v;
}

function rawValues(p: Parsed, key: string): string[] {
  return p.raw.filter(([k]) => k === key).map(([, v]) => lxcValue(v));
}

function withPlan(
  config: Record<string, unknown>,
  options: Partial<PlanOptions>,
  fn: (plan: ContainerPlan) => void,
): void {
  const root = Deno.makeTempDirSync({ prefix: "oci2lxc-pveconf-" });
  try {
    Deno.mkdirSync(`${root}/bin`);
    Deno.writeTextFileSync(`${root}/bin/sh`, "");
    fn(
      makePlan({ config }, { os: "linux", architecture: "amd64" }, directoryRootfsReader(root), {
        name: "web",
        ...options,
      }),
    );
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
}

const APP = {
  Entrypoint: ["/usr/bin/printf"],
  Cmd: ["[%s]\\n", "daemon off;", "it's", "a\tb", "$HOME"],
  Env: ["PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "SPACED=x "],
  User: "1000:1000",
  WorkingDir: "/srv/app",
  StopSignal: "SIGQUIT",
  Volumes: { "/data": {} },
};

const opts = (version: PveVersion, more: Partial<PveConfOptions> = {}): PveConfOptions => ({
  vmid: 120,
  pveVersion: version,
  templateName: "web.tar.zst",
  randomBytes: countingBytes(),
  ...more,
});
/** The first MAC address from {@linkcode countingBytes}' default start. */
const MAC = "12:11:12:13:14:15";

Deno.test("renderPveConfig writes only keys each Proxmox VE version accepts, and leaves rootfs and sizes to pct create", () => {
  withPlan(APP, { volumes: ["/srv/web data:/var/www:ro"] }, (plan) => {
    for (const version of VERSIONS) {
      const warnings: string[] = [];
      const { conf } = renderPveConfig(
        plan,
        opts(version, {
          net: ["ip=10.0.3.5/24,gw=10.0.3.1", "link=vmbr1,ip=dhcp,ip6=fd00::5/64"],
          onWarning: (w) => warnings.push(w),
        }),
      );
      const p = parsePct(conf, version);
      assert.deepEqual(p.rejected, [], `${version}: every line is taken`);
      for (const key of ["rootfs", "memory", "swap", "cores", "unprivileged"]) {
        assert.ok(!new RegExp(`^${key}:`, "m").test(conf), `${version}: no ${key}`);
      }
      assert.equal(p.options.get("ostype"), "unmanaged");
      assert.equal(p.options.get("arch"), "amd64");
      assert.equal(p.options.get("hostname"), "web");
      assert.equal(p.options.get("cmode"), "console");
      assert.deepEqual(rawValues(p, "lxc.signal.halt"), ["SIGQUIT"]);
      assert.deepEqual(rawValues(p, "lxc.mount.entry").slice(-1), [
        "/srv/web\\040data var/www none bind,create=dir,ro 0 0",
      ]);
      assert.ok(p.description.some((d) => d.includes("Volume /data")), "the unmounted volume is named in the notes");
    }
  });
});

Deno.test("renderPveConfig for 9.1 uses entrypoint, env lines, host-managed NICs and raw init keys", () => {
  withPlan(APP, {}, (plan) => {
    const warnings: string[] = [];
    const { conf, include } = renderPveConfig(
      plan,
      opts("9.1", { net: ["ip=dhcp"], pveContainer: [6, 1, 10], onWarning: (w) => warnings.push(w) }),
    );
    assert.equal(include, undefined);
    const p = parsePct(conf, "9.1", "6.1");
    assert.deepEqual(p.rejected, []);
    // PVE writes entrypoint as lxc.init.cmd; LXC 6.0.5 splits it with lxc_string_split_quoted.
    assert.deepEqual(splitInitCmdLikeLxc(lxcValue(p.options.get("entrypoint")!), "quoted"), plan.argv);
    assert.ok(!conf.includes("lxc.init.cmd"));
    assert.match(p.options.get("net0")!, /^name=eth0,bridge=vmbr0,hwaddr=[0-9A-F:]{17},ip=dhcp,host-managed=1$/);
    const entries = plan.env.map(([k, v]) => `${k}=${v}`);
    assert.ok(entries.includes("LANG=C.UTF-8") && entries.includes("HOSTNAME=web"));
    assert.deepEqual(rawValues(p, "lxc.environment.runtime"), entries.filter((e) => !e.startsWith("SPACED=")));
    // A trailing blank would be trimmed by PVE: that variable goes to lxc.environment, quoted.
    assert.deepEqual(rawValues(p, "lxc.environment"), ["SPACED=x "]);
    assert.ok(warnings.some((w) => w.startsWith("SPACED cannot be in Proxmox VE's env property")));
    assert.deepEqual(rawValues(p, "lxc.init.uid"), ["1000"]);
    assert.deepEqual(rawValues(p, "lxc.init.gid"), ["1000"]);
    assert.deepEqual(rawValues(p, "lxc.init.cwd"), ["/srv/app"]);
    assert.ok(plan.runTmpfs, "the image has no /run");
    assert.deepEqual(
      rawValues(p, "lxc.mount.entry"),
      ["tmpfs run tmpfs rw,nosuid,nodev,mode=755,create=dir 0 0"],
      "pve-container 6.1.10 mounts /dev/shm itself",
    );
  });
});

Deno.test("renderPveConfig for a bare 9.1 writes a conf that pve-container 6.0.15 takes whole: the user goes to the include file", () => {
  withPlan(APP, {}, (plan) => {
    const warnings: string[] = [];
    const r = renderPveConfig(plan, opts("9.1", { net: ["ip=dhcp"], onWarning: (w) => warnings.push(w) }));
    const p = parsePct(r.conf, "9.1", "6.0");
    assert.deepEqual(p.rejected, [], "pve-container 6.0.15's strict parse would die on these lines");
    assert.ok(p.options.has("entrypoint"));
    assert.deepEqual(rawValues(p, "lxc.init.cwd"), ["/srv/app"]);
    assert.deepEqual(rawValues(p, "lxc.include"), ["/var/lib/lxc/120/oci2lxc.conf"]);
    const inc = r.include!.split("\n").filter((l) => l && !l.startsWith("#"));
    assert.deepEqual(inc, ["lxc.init.uid = 1000", "lxc.init.gid = 1000"]);
    assert.ok(warnings.some((w) => w.includes("pve-container 6.0.15 drops those keys") && w.includes("every node")));
    // Before 6.1.10 pve-container mounts no /dev/shm for an application container.
    assert.deepEqual(rawValues(p, "lxc.mount.entry"), [
      "tmpfs dev/shm tmpfs rw,nosuid,nodev,noexec,mode=1777,create=dir 0 0",
      "tmpfs run tmpfs rw,nosuid,nodev,mode=755,create=dir 0 0",
    ]);
    assert.ok(p.description.some((d) => d.includes("pve-container 6.0.15 or later")));
  });
  // An image without a user needs no include file on any 9.1.
  withPlan({ Cmd: ["/bin/httpd", "-f"] }, {}, (plan) => {
    const r = renderPveConfig(plan, opts("9.1"));
    assert.equal(r.include, undefined);
    assert.deepEqual(parsePct(r.conf, "9.1", "6.0").rejected, []);
  });
});

/** A fixed random source: bytes counting up from `start`, so the MAC addresses in goldens are known. */
function countingBytes(start = 0x10): (length: number) => Uint8Array {
  let next = start;
  return (length) => Uint8Array.from({ length }, () => next++ & 0xff);
}

Deno.test("renderPveConfig gives every interface a random MAC address in PVE's format, written once into the conf", () => {
  withPlan(APP, {}, (plan) => {
    for (const version of VERSIONS) {
      const macs = (vmid: number, randomBytes?: (length: number) => Uint8Array) => {
        const net = ["ip=dhcp", "link=vmbr1,ip=dhcp"];
        const p = parsePct(renderPveConf(plan, { ...opts(version, { net, randomBytes }), vmid }), version);
        return [0, 1].map((n) => /(?:^|,)hwaddr=([^,]+)/.exec(p.options.get(`net${n}`)!)?.[1]);
      };
      const [first, second] = macs(120);
      assert.match(first!, MAC_ADDR, `${version}: a unicast address PVE accepts`);
      assert.equal(parseInt(first!.slice(0, 2), 16) & 0x02, 0x02, "locally administered");
      assert.notEqual(second, first, "one per interface");
      // Standalone hosts all start at CT 100: the same vmid must not mean the same address on a shared network.
      assert.notEqual(macs(120)[0], first, "drawn anew for every conversion, not derived from the vmid");
      // The injected source is what the address comes from (the multicast bit cleared, the local bit set).
      assert.deepEqual(macs(120, countingBytes(0x11)), ["12:12:13:14:15:16", "16:18:19:1A:1B:1C"]);
    }
  });
});

Deno.test("renderPveConfig before 9.1 puts user and working directory in an include file and the rest in raw lines", () => {
  withPlan(APP, {}, (plan) => {
    for (const version of ["7", "8", "9.0"] as const) {
      const r = renderPveConfig(
        plan,
        opts(version, { net: ["ip=10.0.3.5/24,gw=10.0.3.1,ip6=fd00::5/64,gw6=fd00::1"] }),
      );
      const p = parsePct(r.conf, version);
      assert.deepEqual(rawValues(p, "lxc.include"), ["/var/lib/lxc/120/oci2lxc.conf"]);
      assert.equal(r.includePath, "/var/lib/lxc/120/oci2lxc.conf");
      const inc = r.include!.split("\n").filter((l) => l && !l.startsWith("#"));
      assert.deepEqual(inc, ["lxc.init.uid = 1000", "lxc.init.gid = 1000", "lxc.init.cwd = /srv/app"]);
      assert.deepEqual(rawValues(p, "lxc.environment"), plan.env.map(([k, v]) => `${k}=${v}`));
      assert.ok(plan.env.some(([k]) => k === "SPACED"));
      assert.ok(r.conf.includes('lxc.environment: "SPACED=x "\n'), "quoted so that LXC keeps the blank");
      assert.deepEqual(rawValues(p, "lxc.mount.entry"), [
        "tmpfs dev/shm tmpfs rw,nosuid,nodev,noexec,mode=1777,create=dir 0 0",
        "tmpfs run tmpfs rw,nosuid,nodev,mode=755,create=dir 0 0",
      ]);
      // LXC sets the static addresses itself: an unmanaged container gets no network files.
      assert.equal(
        p.options.get("net0"),
        `name=eth0,bridge=vmbr0,hwaddr=${MAC},ip=10.0.3.5/24,gw=10.0.3.1,ip6=fd00::5/64,gw6=fd00::1`,
      );
      assert.deepEqual(
        p.raw.filter(([k]) => k.startsWith("lxc.net.")),
        [
          ["lxc.net.0.ipv4.address", "10.0.3.5/24"],
          ["lxc.net.0.ipv4.gateway", "10.0.3.1"],
          ["lxc.net.0.ipv6.address", "fd00::5/64"],
          ["lxc.net.0.ipv6.gateway", "fd00::1"],
          ["lxc.net.0.flags", "up"],
        ],
      );
    }
  });
});

Deno.test("renderPveConfig before 9.1 writes an lxc.init.cmd that every LXC splitter reads as the image's argv", () => {
  withPlan(APP, {}, (plan) => {
    for (const version of ["7", "8", "9.0"] as const) {
      const warnings: string[] = [];
      const p = parsePct(renderPveConf(plan, opts(version, { onWarning: (w) => warnings.push(w) })), version);
      const value = rawValues(p, "lxc.init.cmd")[0]!;
      const space = splitInitCmdLikeLxc(value, "space");
      assert.deepEqual(splitInitCmdLikeLxc(value, "quoted"), space, `${version}: both splitters agree`);
      assert.equal(space[0], "/bin/sh");
      assert.ok(warnings.some((w) => w.includes("execs the command")));
      // Run the launcher with the host's shell: printf prints each argument of the image's argv.
      const out = new Deno.Command("/bin/sh", { args: space.slice(1), env: { IFS: "x" } }).outputSync();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
      assert.equal(new TextDecoder().decode(out.stdout), plan.argv.slice(2).map((a) => `[${a}]\n`).join(""));
    }
  });
  // A command without blanks goes in as it is.
  withPlan({ Cmd: ["/bin/httpd", "-f", "-p", "8080"] }, {}, (plan) => {
    const p = parsePct(renderPveConf(plan, opts("8")), "8");
    assert.deepEqual(rawValues(p, "lxc.init.cmd"), ["/bin/httpd -f -p 8080"]);
  });
});

Deno.test("renderPveConfig writes nothing for the command of a /sbin/init system container, and no console mode", () => {
  withPlan({ Cmd: ["/sbin/init"] }, {}, (plan) => {
    assert.equal(plan.kind, "system");
    for (const version of VERSIONS) {
      const p = parsePct(renderPveConf(plan, opts(version, { net: ["ip=dhcp"] })), version);
      assert.ok(!p.options.has("entrypoint") && !p.options.has("cmode"));
      assert.deepEqual(rawValues(p, "lxc.init.cmd"), []);
      assert.equal(
        p.options.get("net0"),
        `name=eth0,bridge=vmbr0,hwaddr=${MAC},ip=dhcp`,
        "no host-managed for a system container",
      );
      assert.deepEqual(p.raw.filter(([k]) => k.startsWith("lxc.net.")), []);
      assert.deepEqual(rawValues(p, "lxc.signal.halt"), [plan.stopSignal]);
    }
  });
});

/** Every line of `conf` is one PVE accepts; no line is a key the plan did not ask for. */
function assertNoInjection(conf: string, version: PveVersion): void {
  const p = parsePct(conf, version);
  assert.deepEqual(p.rejected, []);
  assert.ok(!/^lxc\.hook/m.test(conf) && !/^rootfs:/m.test(conf), conf);
}

Deno.test("renderPveConfig refuses hostile plan values instead of writing extra lines", () => {
  withPlan(APP, {}, (plan) => {
    const evil = "x\nlxc.hook.pre-start: /tmp/evil";
    const cases: [string, ContainerPlan][] = [
      ["argv", { ...plan, argv: ["/bin/app", evil], argvSources: [] }],
      ["env value", { ...plan, env: [["A", evil]] }],
      ["env name", { ...plan, env: [[evil, "1"]] }],
      ["cwd", { ...plan, cwd: `/srv\r${evil}` }],
      ["stop signal", { ...plan, stopSignal: `SIGTERM${evil}` }],
      ["mount", { ...plan, mounts: [{ source: `/srv${evil}`, target: "/data", readOnly: false }] }],
      ["arch", { ...plan, arch: `amd64${evil}` }],
    ];
    for (const version of VERSIONS) {
      for (const [what, hostile] of cases) {
        assert.throws(
          () => renderPveConfig(hostile, opts(version)),
          (err: unknown) => err instanceof Oci2LxcError && (err.code === "config" || err.code === "usage"),
          `${version}: ${what}`,
        );
      }
      // Text that only reaches comments or is normalised is escaped, never a line of its own.
      const odd: ContainerPlan = {
        ...plan,
        hostname: evil,
        volumes: [{ path: `/data${evil}`, exists: false, bound: false }],
      };
      const conf = renderPveConf(odd, opts(version, { header: [`image ${evil} 100%`] }));
      assertNoInjection(conf, version);
      const p = parsePct(conf, version);
      assert.ok(p.description.includes("image x\\x0Alxc.hook.pre-start: /tmp/evil 100%"), p.description.join("|"));
      assert.equal(p.options.get("hostname"), "x-lxc.hook.pre-start-tmp-evil");
    }
  });
  for (const net of ["ip=dhcp\nlxc.hook.mount=/x", "name=eth0 x"]) {
    withPlan(APP, {}, (plan) => {
      assert.throws(() => renderPveConf(plan, opts("8", { net: [net] })), Oci2LxcError);
    });
  }
});

Deno.test("renderPveConfig maps --net to netN and refuses what Proxmox VE cannot do", () => {
  withPlan(APP, {}, (plan) => {
    const p = parsePct(
      renderPveConf(
        plan,
        opts("9.1", { net: ["name=lan,link=vmbr2,ip=none,ip6=dhcp,hwaddr=02:00:00:aa:bb:cc,mtu=1400"] }),
      ),
      "9.1",
    );
    assert.equal(
      p.options.get("net0"),
      "name=lan,bridge=vmbr2,hwaddr=02:00:00:AA:BB:CC,ip6=dhcp,mtu=1400,host-managed=1",
    );
    assert.equal(parsePct(renderPveConf(plan, opts("9.1", { net: ["none"] })), "9.1").options.has("net0"), false);
    for (const bad of ["type=macvlan,link=eth0", "hwaddr=02:00:00:xx:xx:xx", "ip=10.0.0.2/24,gw=auto"]) {
      assert.throws(() => renderPveConf(plan, opts("8", { net: [bad] })), /Cannot write net0 for Proxmox VE/);
    }
  });
});

Deno.test("renderPveConfig checks vmid, arch and hostname against Proxmox VE's formats", () => {
  withPlan(APP, {}, (plan) => {
    for (const vmid of [99, 1_000_000_000, 1.5]) {
      assert.throws(() => renderPveConf(plan, { ...opts("8"), vmid }), /Cannot use VMID/);
    }
    assert.throws(() => renderPveConf({ ...plan, arch: "s390x" }, opts("8")), /Cannot write arch s390x/);
    const warnings: string[] = [];
    const conf = renderPveConf(
      { ...plan, arch: undefined, hostname: "my_app" },
      opts("8", { onWarning: (w) => warnings.push(w) }),
    );
    assert.ok(!/^arch:/m.test(conf));
    assert.match(conf, /^hostname: my-app$/m);
    assert.equal(warnings.length, 3, warnings.join("\n")); // arch, hostname, launcher
  });
});

Deno.test("parsePveVersion reads pveversion's numbers and refuses what has no OCI-free path", () => {
  const cases: [string, PveVersion][] = [
    ["7", "7"],
    ["7.4", "7"],
    ["8.2.4", "8"],
    ["9", "9.0"],
    ["9.0", "9.0"],
    [
      "9.1",
      "9.1",
    ],
    ["9.2", "9.1"],
    ["10.0", "9.1"],
    ["pve-container/6.1.0", "9.1"],
    ["pve-container: 6.0.15", "9.1"],
    ["pve-container/6.0.14", "9.0"],
    ["pve-container/5.3.3", "8"],
    ["pve-container/4.4-6", "7"],
  ];
  for (const [text, want] of cases) assert.equal(parsePveVersion(text), want, text);
  // The pve-container each text guarantees: a bare 9.1 is its first release; pve-manager 9.1.12 needs 6.1.6.
  const containers: [string, string][] = [
    ["9.1", "6.0.15"],
    ["9.1.11", "6.0.15"],
    ["9.1.12", "6.1.6"],
    ["9.2", "6.1.6"],
    ["pve-container/6.1.10", "6.1.10"],
    ["9.0", "6.0.0"],
  ];
  for (const [text, want] of containers) assert.equal(parsePveTarget(text).pveContainer.join("."), want, text);
  for (const bad of ["6.4", "", "eight", "8.x", "pve-container/3.3.0", "pve-container/x"]) {
    assert.throws(() => parsePveVersion(bad), /Cannot use Proxmox VE version/);
  }
});

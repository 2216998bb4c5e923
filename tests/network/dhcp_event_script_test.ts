/**
 * The event script run for real by /bin/sh, with a fake `ip` that records
 * its arguments, so what it would do to an interface is checked without
 * root or namespaces.
 */
import assert from "node:assert/strict";
import { dhcpEventScript } from "../../core/network/dhcp_event_script.ts";
import { prepareNetworkDir } from "../../core/network/network_dir.ts";

interface Fixture {
  dir: string;
  script: (family: 4 | 6) => string;
  calls: () => string[];
  resolv: () => string;
  dispose: () => void;
}

function fixture(fixedMtu: string[] = []): Fixture {
  const dir = Deno.makeTempDirSync({ prefix: "oci2lxc event test " });
  const paths = prepareNetworkDir(dir);
  Deno.mkdirSync(paths.stateDir);
  Deno.mkdirSync(paths.runDir);
  const fakeIp = `${dir}/fake ip`;
  Deno.writeTextFileSync(fakeIp, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${dir}/calls'\n`, { mode: 0o755 });
  Deno.chmodSync(fakeIp, 0o755);
  for (const family of [4, 6] as const) {
    const file = family === 4 ? paths.eventScript : `${paths.eventScript}6`;
    Deno.writeTextFileSync(
      file,
      dhcpEventScript({ paths, family, ip: [fakeIp], fixedMtu, interfaces: ["eth0", "eth1"] }),
      { mode: 0o755 },
    );
    Deno.chmodSync(file, 0o755);
  }
  return {
    dir,
    script: (family) => family === 4 ? paths.eventScript : `${paths.eventScript}6`,
    calls: () => {
      try {
        return Deno.readTextFileSync(`${dir}/calls`).trim().split("\n");
      } catch {
        return [];
      }
    },
    resolv: () => Deno.readTextFileSync(paths.resolvConf),
    dispose: () => Deno.removeSync(dir, { recursive: true }),
  };
}

async function fire(script: string, args: string[], env: Record<string, string>): Promise<void> {
  const out = await new Deno.Command("/bin/sh", {
    args: [script, ...args],
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(10_000),
  }).output();
  assert.deepEqual(out.code, 0, new TextDecoder().decode(out.stderr));
}

const HEADER = "# Written by oci2lxc from DHCP leases; rewritten at every lease change\n";

Deno.test("dhcp-event on a udhcpc lease sets address, MTU, default route and resolv.conf in place", async () => {
  const f = fixture();
  try {
    const inode = Deno.statSync(`${f.dir}/network/resolv.conf`).ino;
    await fire(f.script(4), ["bound"], {
      interface: "eth1",
      ip: "10.9.0.7",
      mask: "24",
      router: "10.9.0.1 10.9.0.2",
      dns: "10.9.0.1 1.1.1.1",
      domain: "example.test",
      search: "corp.test",
      mtu: "1400",
      lease: "600",
    });
    assert.deepEqual(f.calls(), [
      "-4 addr replace 10.9.0.7/24 brd + dev eth1 valid_lft 600 preferred_lft 600",
      "link set dev eth1 mtu 1400",
      "-4 route replace default via 10.9.0.1 dev eth1 metric 101",
    ]);
    assert.deepEqual(f.resolv(), `${HEADER}nameserver 10.9.0.1\nnameserver 1.1.1.1\nsearch example.test corp.test\n`);
    assert.deepEqual(
      Deno.statSync(`${f.dir}/network/resolv.conf`).ino,
      inode,
      "resolv.conf must keep its inode (bind mount)",
    );
    assert(Deno.readTextFileSync(`${f.dir}/network/dhcp.log`).includes("eth1: bound: 10.9.0.7/24 router 10.9.0.1"));
  } finally {
    f.dispose();
  }
});

Deno.test("dhcp-event drops what a hostile server puts in DNS and domain options", async () => {
  const f = fixture();
  try {
    await fire(f.script(4), ["bound"], {
      interface: "eth0",
      ip: "10.9.0.7",
      mask: "24",
      router: "10.9.0.1",
      dns: "10.9.0.1 $(reboot) 10.0.0.1;id ../../etc",
      domain: "good.test",
      search: "bad\\domain -rf .hidden ok.test",
      lease: "600",
    });
    assert.deepEqual(f.resolv(), `${HEADER}nameserver 10.9.0.1\nsearch good.test ok.test\n`);
  } finally {
    f.dispose();
  }
});

Deno.test("dhcp-event keeps a fixed MTU, follows classless static routes, and replaces an old address on renew", async () => {
  const f = fixture(["eth0"]);
  try {
    const base = { interface: "eth0", mask: "24", lease: "60", mtu: "9000" };
    await fire(f.script(4), ["bound"], {
      ...base,
      ip: "10.9.0.7",
      staticroutes: "0.0.0.0/0 10.9.0.254 172.16.0.0/12 10.9.0.253",
    });
    await fire(f.script(4), ["renew"], { ...base, ip: "10.9.0.8", router: "10.9.0.1" });
    assert.deepEqual(f.calls(), [
      "-4 addr replace 10.9.0.7/24 brd + dev eth0 valid_lft 60 preferred_lft 60",
      "-4 route replace 0.0.0.0/0 via 10.9.0.254 dev eth0 metric 100",
      "-4 route replace 172.16.0.0/12 via 10.9.0.253 dev eth0 metric 100",
      "-4 addr del 10.9.0.7/24 dev eth0",
      "-4 addr replace 10.9.0.8/24 brd + dev eth0 valid_lft 60 preferred_lft 60",
      "-4 route replace default via 10.9.0.1 dev eth0 metric 100",
    ]);
  } finally {
    f.dispose();
  }
});

Deno.test("dhcp-event on deconfig removes the address it set and its DNS servers", async () => {
  const f = fixture();
  try {
    await fire(f.script(4), ["bound"], { interface: "eth0", ip: "10.9.0.7", mask: "24", dns: "10.9.0.1", lease: "60" });
    await fire(f.script(4), ["deconfig"], { interface: "eth0" });
    assert.deepEqual(f.calls().slice(-2), ["link set dev eth0 up", "-4 addr del 10.9.0.7/24 dev eth0"]);
    assert.deepEqual(f.resolv(), HEADER);
  } finally {
    f.dispose();
  }
});

Deno.test("dhcp-event merges DNS of an IPv4 and an IPv6 lease, and handles dhclient's variables", async () => {
  const f = fixture();
  try {
    await fire(f.script(4), [], {
      reason: "BOUND",
      interface: "eth0",
      new_ip_address: "10.9.0.7",
      new_subnet_mask: "255.255.254.0",
      new_routers: "10.9.0.1",
      new_domain_name_servers: "10.9.0.1",
      new_dhcp_lease_time: "300",
    });
    await fire(f.script(6), ["bound"], {
      interface: "eth0",
      ipv6: "fd00::1:7",
      dns: "fd00::1",
      search: "six.test",
      lease: "900",
    });
    assert.deepEqual(f.calls(), [
      "-4 addr replace 10.9.0.7/23 brd + dev eth0 valid_lft 300 preferred_lft 300",
      "-4 route replace default via 10.9.0.1 dev eth0 metric 100",
      "-6 addr replace fd00::1:7/128 dev eth0 valid_lft 900 preferred_lft 900",
    ]);
    assert.deepEqual(f.resolv(), `${HEADER}nameserver 10.9.0.1\nnameserver fd00::1\nsearch six.test\n`);
    await fire(f.script(6), [], { reason: "EXPIRE6", interface: "eth0" });
    assert.deepEqual(f.calls().at(-1), "-6 addr del fd00::1:7/128 dev eth0");
    assert.deepEqual(f.resolv(), `${HEADER}nameserver 10.9.0.1\n`);
  } finally {
    f.dispose();
  }
});

import assert from "node:assert/strict";
import { BUILTIN_FACTORIES, builtinPlugins, HELPER_FILES } from "../../plugins/mod.ts";
import { debianNetwork, renderInterfaces } from "../../plugins/distro_debian.ts";
import { detect, parseOsRelease } from "../../plugins/distro_detect.ts";
import { nameserversOf, renderNetworkFile, systemdNetwork } from "../../plugins/distro_systemd.ts";
import { filterResolvConf, hostsFiles } from "../../plugins/hosts_files.ts";
import { network } from "../../plugins/network.ts";
import { parseNetSpecs } from "../../core/network/net_spec.ts";
import type { NetInterface } from "../../core/network/net_spec.ts";
import { pluginHarness, snapshotTree } from "../_helpers/plugin_context.ts";

const DEBIAN_OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n';

Deno.test("every file in plugins/ is a registered built-in or a declared helper", () => {
  const files = [...Deno.readDirSync(new URL("../../plugins/", import.meta.url))]
    .filter((e) => e.isFile && e.name.endsWith(".ts")).map((e) => e.name).sort();
  assert.deepEqual(files, [...Object.keys(BUILTIN_FACTORIES), ...HELPER_FILES].sort());
  assert.deepEqual(new Set(builtinPlugins().map((p) => p.name)).size, Object.keys(BUILTIN_FACTORIES).length);
});

Deno.test("parseOsRelease() reads quoted and unquoted values", () => {
  const f = parseOsRelease('ID=ubuntu\nID_LIKE="debian"\nNAME=\'Ubuntu\'\nX="a \\"b\\""\n# comment\n');
  assert.deepEqual([f.get("ID"), f.get("ID_LIKE"), f.get("NAME"), f.get("X")], ["ubuntu", "debian", "Ubuntu", 'a "b"']);
});

Deno.test("detect() names Debian, Ubuntu via ID_LIKE, Alpine by marker file, and unknown as unmanaged", () => {
  const cases: Array<[Record<string, string>, string, string[]]> = [
    [{ "/etc/os-release": DEBIAN_OS_RELEASE }, "debian", ["debian"]],
    [{ "/usr/lib/os-release": 'ID=pop\nID_LIKE="ubuntu debian"\n' }, "pop", ["debian"]],
    [{ "/etc/alpine-release": "3.20.0\n" }, "alpine", ["alpine"]],
    [{ "/etc/os-release": "ID=fedora\n", "/usr/lib/systemd/systemd": "" }, "fedora", ["redhat", "systemd"]],
    [{ "/bin/sh": "" }, "unmanaged", []],
  ];
  for (const [files, id, families] of cases) {
    const h = pluginHarness(files);
    try {
      const info = detect(h.context.rootfs);
      assert.deepEqual([info.id, info.families], [id, families]);
    } finally {
      h.cleanup();
    }
  }
});

Deno.test("debian-network applies to Debian only and creates /etc/network for an app container", async () => {
  const h = pluginHarness({ "/etc/os-release": DEBIAN_OS_RELEASE });
  try {
    const plugin = debianNetwork();
    assert(plugin.apply!(h.context));
    await plugin.rootfs!(h.context);
    assert.deepEqual(
      snapshotTree(`${h.dir}/rootfs`),
      `/etc/\n/etc/network/\n/etc/os-release: ${JSON.stringify(DEBIAN_OS_RELEASE)}`,
    );
    const other = pluginHarness({ "/etc/alpine-release": "3.20\n" });
    try {
      assert.deepEqual(plugin.apply!(other.context), false);
    } finally {
      other.cleanup();
    }
  } finally {
    h.cleanup();
  }
});

Deno.test("debian-network writes /etc/network/interfaces for a system container with DHCP and static", async () => {
  const h = pluginHarness(
    { "/etc/os-release": DEBIAN_OS_RELEASE, "/sbin/init": "" },
    { config: { Cmd: ["/sbin/init"] } },
    { net: ["name=eth0,link=br0,ip=dhcp", "name=eth1,link=br1,ip=192.0.2.5/24,gw=192.0.2.1,ip6=auto,mtu=1400"] },
  );
  try {
    assert.deepEqual(h.context.plan.kind, "system");
    await debianNetwork().rootfs!(h.context);
    assert.deepEqual(
      Deno.readTextFileSync(`${h.dir}/rootfs/etc/network/interfaces`),
      [
        "# Written by oci2lxc",
        "auto lo",
        "iface lo inet loopback",
        "",
        "auto eth0",
        "iface eth0 inet dhcp",
        "iface eth0 inet6 auto", // --net's default for IPv6 is SLAAC
        "",
        "auto eth1",
        "iface eth1 inet static",
        "\taddress 192.0.2.5/24",
        "\tgateway 192.0.2.1",
        "\tmtu 1400",
        "iface eth1 inet6 auto",
        "",
      ].join("\n"),
    );
  } finally {
    h.cleanup();
  }
});

const DEBIAN_INITTAB = [
  "id:2:initdefault:",
  "si::sysinit:/etc/init.d/rcS",
  "pf::powerwait:/etc/init.d/powerfail start",
  "pn::powerfailnow:/etc/init.d/powerfail now",
  "po::powerokwait:/etc/init.d/powerfail stop",
  "1:2345:respawn:/sbin/getty 38400 tty1",
  "",
].join("\n");

Deno.test("debian-network makes a sysvinit system container halt on SIGPWR, once, and only when asked", async () => {
  const files = { "/etc/os-release": DEBIAN_OS_RELEASE, "/sbin/init": "", "/etc/inittab": DEBIAN_INITTAB };
  const h = pluginHarness(files, { config: { Cmd: ["/sbin/init"] } });
  try {
    assert.deepEqual(h.context.plan.stopSignal, "SIGPWR");
    await debianNetwork().rootfs!(h.context);
    const once = Deno.readTextFileSync(`${h.dir}/rootfs/etc/inittab`);
    assert.deepEqual(
      once,
      DEBIAN_INITTAB
        .replace("pf::", "#pf::").replace("pn::", "#pn::").replace("po::", "#po::") +
        "# oci2lxc: LXC stops the container with SIGPWR; halt on it\np0::powerfail:/sbin/init 0\n",
    );
    await debianNetwork().rootfs!(h.context);
    assert.deepEqual(Deno.readTextFileSync(`${h.dir}/rootfs/etc/inittab`), once, "a second run changes nothing");
  } finally {
    h.cleanup();
  }
  const off = pluginHarness(files, { config: { Cmd: ["/sbin/init"] } });
  try {
    await debianNetwork({ haltOnPowerfail: false }).rootfs!(off.context);
    assert.deepEqual(Deno.readTextFileSync(`${off.dir}/rootfs/etc/inittab`), DEBIAN_INITTAB);
  } finally {
    off.cleanup();
  }
  const app = pluginHarness(files, { config: { Cmd: ["/bin/sh"] } });
  try {
    assert.deepEqual(app.context.plan.kind, "app");
    await debianNetwork().rootfs!(app.context);
    assert.deepEqual(Deno.readTextFileSync(`${app.dir}/rootfs/etc/inittab`), DEBIAN_INITTAB);
  } finally {
    app.cleanup();
  }
});

Deno.test("systemd-network writes .network files, a preset and the enable link for a system container", async () => {
  const h = pluginHarness(
    {
      "/etc/os-release": "ID=fedora\n",
      "/usr/lib/systemd/systemd": "",
      "/usr/lib/systemd/system/systemd-networkd.service": "[Unit]\n",
    },
    { config: { Cmd: ["/usr/lib/systemd/systemd"] } },
    { net: ["name=eth0,link=br0,ip=dhcp,ip6=dhcp"] },
  );
  try {
    const plugin = systemdNetwork();
    assert(plugin.apply!(h.context));
    await plugin.rootfs!(h.context);
    const etc = snapshotTree(`${h.dir}/rootfs/etc/systemd`);
    assert.deepEqual(
      etc,
      [
        "/network/",
        `/network/50-oci2lxc-eth0.network: ${
          JSON.stringify(
            "# Written by oci2lxc\n[Match]\nName=eth0\n\n[Network]\nDHCP=yes\nIPv6AcceptRA=yes\n\n[DHCPv4]\nUseHostname=no\n",
          )
        }`,
        "/system/",
        "/system/multi-user.target.wants/",
        "/system/multi-user.target.wants/systemd-networkd.service -> /usr/lib/systemd/system/systemd-networkd.service",
        "/system-preset/",
        `/system-preset/10-oci2lxc.preset: ${
          JSON.stringify("# Written by oci2lxc\nenable systemd-networkd.service\nenable systemd-networkd.socket\n")
        }`,
      ].join("\n"),
    );
  } finally {
    h.cleanup();
  }
});

Deno.test("systemd-network gives a system container a machine-id of its own, keeping an unset one unset", async () => {
  const image = "cf712f7d7cb64a0b81dbf06556522040\n";
  for (
    const [files, expected] of [
      [{ "/etc/machine-id": image, "/var/lib/dbus/machine-id": image }, "fresh"],
      [{ "/etc/machine-id": "" }, ""],
      [{ "/etc/machine-id": "uninitialized\n" }, "uninitialized\n"],
    ] as const
  ) {
    const h = pluginHarness(
      { "/etc/os-release": "ID=debian\n", "/usr/lib/systemd/systemd": "", ...files },
      { config: { Cmd: ["/usr/lib/systemd/systemd"] } },
    );
    try {
      await systemdNetwork().rootfs!(h.context);
      const id = Deno.readTextFileSync(`${h.dir}/rootfs/etc/machine-id`);
      if (expected === "fresh") {
        assert(/^[0-9a-f]{32}\n$/.test(id) && id !== image, id);
        assert.deepEqual(Deno.statSync(`${h.dir}/rootfs/etc/machine-id`).mode! & 0o777, 0o444);
        assert.deepEqual(Deno.readTextFileSync(`${h.dir}/rootfs/var/lib/dbus/machine-id`), id);
      } else {
        assert.deepEqual(id, expected);
      }
    } finally {
      h.cleanup();
    }
  }
});

Deno.test("nameserversOf() keeps the addresses a container can use", () => {
  assert.deepEqual(
    nameserversOf(
      "nameserver 127.0.0.53\nnameserver 192.0.2.1\n# nameserver 192.0.2.9\nnameserver ::1\n" +
        "nameserver fe80::1%eth0\nnameserver 2001:db8::53\nnameserver bogus\nsearch example.org\n",
    ),
    ["192.0.2.1", "2001:db8::53"],
  );
});

Deno.test("renderNetworkFile() names DNS servers for a static interface only, never beside DHCP", () => {
  const [staticIf, dhcpIf, mixedIf] = parseNetSpecs([
    "name=eth0,ip=192.0.2.10/24,gw=192.0.2.1,ip6=none",
    "name=eth1,ip=dhcp",
    "name=eth2,ip=192.0.2.11/24,ip6=dhcp",
  ]) as NetInterface[];
  assert.deepEqual(
    renderNetworkFile(staticIf!, ["192.0.2.53"]),
    "# Written by oci2lxc\n[Match]\nName=eth0\n\n[Network]\nAddress=192.0.2.10/24\nGateway=192.0.2.1\n" +
      "DNS=192.0.2.53\nIPv6AcceptRA=no\n",
  );
  assert(!renderNetworkFile(dhcpIf!, ["192.0.2.53"]).includes("DNS="));
  assert(!renderNetworkFile(mixedIf!, ["192.0.2.53"]).includes("DNS="));
});

Deno.test("systemd-network reads the host's name servers for a static interface, and warns when none is usable", async () => {
  for (
    const [resolv, dnsLines, warned] of [
      ["nameserver 127.0.0.53\nnameserver 192.0.2.53\n", "DNS=192.0.2.53\n", false],
      ["nameserver 127.0.0.53\n", "", true],
    ] as const
  ) {
    const h = pluginHarness(
      { "/etc/os-release": "ID=debian\n", "/usr/lib/systemd/systemd": "" },
      { config: { Cmd: ["/usr/lib/systemd/systemd"] } },
      { net: ["name=eth0,link=br0,ip=192.0.2.10/24,gw=192.0.2.1,ip6=none"] },
    );
    try {
      const hostResolvConf = `${h.dir}/host-resolv.conf`;
      Deno.writeTextFileSync(hostResolvConf, resolv);
      await systemdNetwork({ hostResolvConf }).rootfs!(h.context);
      const file = Deno.readTextFileSync(`${h.dir}/rootfs/etc/systemd/network/50-oci2lxc-eth0.network`);
      assert(file.includes(`Gateway=192.0.2.1\n${dnsLines}IPv6AcceptRA=no\n`), file);
      assert.deepEqual(
        h.warnings.some((w) => w.includes("names no name server usable")),
        warned,
        h.warnings.join("\n"),
      );
    } finally {
      h.cleanup();
    }
  }
});

Deno.test("hosts-files bind-mounts generated hostname and hosts for an app container, never touching the rootfs", async () => {
  const h = pluginHarness({ "/etc/hosts": "image's own\n" });
  try {
    const plugin = hostsFiles();
    await plugin.rootfs!(h.context);
    await plugin.config!(h.context);
    assert.deepEqual([...h.context.files.keys()].sort(), ["network/hostname", "network/hosts"]);
    assert.deepEqual(h.context.files.get("network/hostname")!.data, "ct\n");
    assert.deepEqual(Deno.readTextFileSync(`${h.dir}/rootfs/etc/hosts`), "image's own\n");
    assert.deepEqual(h.added, [
      "lxc.mount.entry = /var/lib/lxc/ct/network/hostname etc/hostname none bind,create=file 0 0",
      "lxc.mount.entry = /var/lib/lxc/ct/network/hosts etc/hosts none bind,create=file 0 0",
    ]);
  } finally {
    h.cleanup();
  }
});

Deno.test("hosts-files writes /etc/hostname and adds the 127.0.1.1 line for a system container", async () => {
  const h = pluginHarness({ "/sbin/init": "", "/etc/hosts": "127.0.0.1 localhost\n" }, {
    config: { Cmd: ["/sbin/init"] },
  });
  try {
    await hostsFiles().rootfs!(h.context);
    assert.deepEqual(Deno.readTextFileSync(`${h.dir}/rootfs/etc/hostname`), "ct\n");
    assert.deepEqual(Deno.readTextFileSync(`${h.dir}/rootfs/etc/hosts`), "127.0.0.1 localhost\n127.0.1.1\tct\n");
  } finally {
    h.cleanup();
  }
});

Deno.test("hosts-files never writes through an image symlink that points at a host file", async () => {
  const canary = Deno.makeTempFileSync();
  Deno.writeTextFileSync(canary, "host file\n");
  const h = pluginHarness({ "/sbin/init": "" }, { config: { Cmd: ["/sbin/init"] } });
  try {
    Deno.mkdirSync(`${h.dir}/rootfs/etc`, { recursive: true });
    Deno.symlinkSync(canary, `${h.dir}/rootfs/etc/hostname`);
    await hostsFiles().rootfs!(h.context);
    assert.deepEqual(Deno.readTextFileSync(canary), "host file\n");
    assert.deepEqual(Deno.readTextFileSync(`${h.dir}/rootfs/etc/hostname`), "ct\n");
    assert(!Deno.lstatSync(`${h.dir}/rootfs/etc/hostname`).isSymlink);
  } finally {
    h.cleanup();
    Deno.removeSync(canary);
  }
});

Deno.test("filterResolvConf() drops loopback name servers", () => {
  assert.deepEqual(
    filterResolvConf("nameserver 127.0.0.53\nnameserver 192.0.2.1\nnameserver ::1\nsearch x\n"),
    "nameserver 192.0.2.1\nsearch x\n",
  );
});

Deno.test("network puts static addresses in the plan and DHCP hooks in the config of an app container", async () => {
  const h = pluginHarness({}, { config: { Cmd: ["/bin/app"] } }, {
    net: ["link=br0,ip=dhcp,hwaddr=00:16:3e:00:00:01"],
    selfCommand: ["/usr/local/bin/oci2lxc"],
  });
  try {
    const plugin = network();
    await plugin.plan!(h.context);
    assert.deepEqual(h.context.plan.network, [{
      type: "veth",
      keys: [["link", "br0"], ["name", "eth0"], ["flags", "up"], ["hwaddr", "00:16:3e:00:00:01"]],
    }]);
    await plugin.config!(h.context);
    assert(
      h.added.some((l) => l.startsWith("lxc.hook.start-host = /usr/local/bin/oci2lxc hook dhcp start")),
      h.added.join("\n"),
    );
    assert(
      h.added.some((l) => l.startsWith("lxc.hook.stop = /usr/local/bin/oci2lxc hook dhcp stop")),
      h.added.join("\n"),
    );
    assert(h.context.files.has("network/resolv.conf"));
  } finally {
    h.cleanup();
  }
});

Deno.test("renderInterfaces() leaves out a gateway LXC would pick (gw=auto)", () => {
  const [spec] = parseNetSpecs(["name=eth0,link=br0,ip=10.0.0.2/24,gw=auto"]) as NetInterface[];
  assert(!renderInterfaces([spec!]).includes("gateway"));
});

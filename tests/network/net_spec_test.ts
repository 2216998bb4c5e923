import assert from "node:assert/strict";
import { Oci2LxcError } from "../../core/errors.ts";
import {
  netSpecSummary,
  netSpecWarnings,
  parseNetSpec,
  parseNetSpecs,
  wantsDhcp,
} from "../../core/network/net_spec.ts";

Deno.test("parseNetSpec fills the defaults: eth<index>, veth, no link, IPv4 DHCP, IPv6 SLAAC", () => {
  assert.deepEqual(parseNetSpec("link=br0", { index: 2 }), {
    type: "veth",
    name: "eth2",
    link: "br0",
    ipv4: { mode: "dhcp" },
    ipv6: { mode: "auto" },
    hwaddr: undefined,
    mtu: undefined,
  });
});

Deno.test("parseNetSpec reads every key", () => {
  assert.deepEqual(
    parseNetSpec(
      "name=net1,type=macvlan,link=enp1s0,ip=192.168.7.20/24,gw=192.168.7.1,ip6=FD00::20/64,gw6=fd00::1,hwaddr=00:16:3E:AA:bb:0c,mtu=1400",
    ),
    {
      type: "macvlan",
      name: "net1",
      link: "enp1s0",
      ipv4: { mode: "static", cidr: "192.168.7.20/24", gateway: "192.168.7.1" },
      ipv6: { mode: "static", cidr: "fd00::20/64", gateway: "fd00::1" },
      hwaddr: "00:16:3e:aa:bb:0c",
      mtu: 1400,
    },
  );
});

Deno.test("parseNetSpec takes none alone, dhcp and none per family, and auto gateways", () => {
  assert.deepEqual(parseNetSpec("none"), { type: "none" });
  const s = parseNetSpec("ip=none,ip6=dhcp");
  assert.deepEqual(s.type !== "none" && [s.ipv4, s.ipv6], [{ mode: "none" }, { mode: "dhcp" }]);
  const a = parseNetSpec("ip=10.1.2.3/16,gw=auto,ip6=fd00::1:2/64,gw6=auto,hwaddr=00:16:3e:xx:xx:xx");
  assert.deepEqual(a.type !== "none" && [a.ipv4, a.ipv6, a.hwaddr], [
    { mode: "static", cidr: "10.1.2.3/16", gateway: "auto" },
    { mode: "static", cidr: "fd00::1:2/64", gateway: "auto" },
    "00:16:3e:xx:xx:xx",
  ]);
});

const BAD: [string, string][] = [
  ["", "it is empty"],
  ["link=br0,color=red", 'unknown key "color" (known: name, type, link, ip, gw, ip6, gw6, hwaddr, mtu)'],
  ["link=br0,link=br1", "link= is given twice"],
  ["link=", "link= has no value"],
  ["br0", '"br0" is not KEY=VALUE'],
  ["none,link=br0", "none cannot be combined with other keys"],
  ["name=this-name-is-too-long", "name=this-name-is-too-long is not an interface name"],
  ["name=lo", "name=lo is the loopback interface"],
  ["link=br 0", "link=br 0 is not an interface name"],
  ["type=phys,link=eth1", "type=phys is not supported (veth or macvlan)"],
  ["type=macvlan", "type=macvlan needs link="],
  ["ip=10.0.0.5", "ip=10.0.0.5 has no prefix length (write it as CIDR, e.g. 10.0.0.5/24)"],
  ["ip=10.0.0.256/24", "ip=10.0.0.256/24 is not an IPv4 address in CIDR form"],
  ["ip=10.0.0.05/24", "ip=10.0.0.05/24 is not an IPv4 address in CIDR form"],
  ["ip=10.0.0.5/33", "ip=10.0.0.5/33 has a bad prefix length (1 to 32)"],
  ["ip=10.0.0.5/024", "ip=10.0.0.5/024 has a bad prefix length"],
  ["ip=10.0.0.0/24", "ip=10.0.0.0/24 is the network address of its subnet"],
  ["ip=10.0.0.255/24", "ip=10.0.0.255/24 is the broadcast address of its subnet"],
  ["ip=127.0.0.2/8", "ip=127.0.0.2/8: it is a loopback address"],
  ["ip=224.0.0.5/24", "it is a multicast address"],
  ["gw=10.0.0.1", "gw= needs a static ip=CIDR (DHCP brings its own gateway)"],
  ["ip=none,gw=10.0.0.1", "gw= needs a static ip=CIDR (ip=none has no address)"],
  ["ip=10.0.0.5/24,gw=10.0.0.5", "gw=10.0.0.5 is the interface's own address"],
  ["ip=10.0.0.5/24,gw=fd00::1", "gw=fd00::1 is not an IPv4 address (or auto)"],
  ["ip6=fd00::5", "ip6=fd00::5 has no prefix length"],
  ["ip6=fd00:::5/64", "ip6=fd00:::5/64 is not an IPv6 address in CIDR form"],
  ["ip6=1:2:3:4:5:6:7:8:9/64", "is not an IPv6 address in CIDR form"],
  ["ip6=fd00::5/129", "ip6=fd00::5/129 has a bad prefix length (1 to 128)"],
  ["ip6=::1/128", "ip6=::1/128: it is the loopback address"],
  ["ip6=ff02::1/64", "it is a multicast address"],
  ["ip6=auto,gw6=fe80::1", "gw6= needs a static ip6=CIDR (ip6=auto has none to route from)"],
  ["hwaddr=00:16:3e:12:34", "hwaddr=00:16:3e:12:34 is not a MAC address"],
  ["hwaddr=01:16:3e:12:34:56", "hwaddr=01:16:3e:12:34:56 is a multicast address"],
  ["hwaddr=00:00:00:00:00:00", "is all zeros"],
  ["mtu=67", "mtu=67 is not a number from 68 to 65535"],
  ["mtu=1e3", "mtu=1e3 is not a number"],
  ["mtu=1000,ip6=dhcp", "mtu=1000 is below 1280, the least IPv6 works with"],
];

for (const [text, why] of BAD) {
  Deno.test(`parseNetSpec refuses ${JSON.stringify(text)} naming the problem`, () => {
    assert.throws(() => parseNetSpec(text), (err) => {
      assert(err instanceof Oci2LxcError);
      assert.equal(err.code, "usage");
      assert(err.message.startsWith(`Cannot parse --net ${JSON.stringify(text)}: `), err.message);
      assert(err.message.includes(why), err.message);
      return true;
    });
  });
}

Deno.test("parseNetSpec accepts IPv6 forms: compressed, full, embedded IPv4, link-local gateway", () => {
  for (const ip6 of ["2001:db8::1/64", "2001:db8:0:0:0:0:0:1/64", "::ffff:10.0.0.1/96", "fe80::5/64"]) {
    const s = parseNetSpec(`ip6=${ip6},gw6=fe80::1`);
    assert.deepEqual(s.type !== "none" && s.ipv6.mode, "static");
  }
});

Deno.test("parseNetSpecs names interfaces by position and refuses duplicates and none with others", () => {
  const specs = parseNetSpecs(["link=br0", "link=br1,ip=none"]);
  assert.deepEqual(specs.map((s) => s.type !== "none" && s.name), ["eth0", "eth1"]);
  assert.throws(
    () => parseNetSpecs(["link=br0", "name=eth0,link=br1"]),
    (err) => err instanceof Oci2LxcError && err.message.includes("two interfaces are named eth0"),
  );
  assert.throws(
    () => parseNetSpecs(["none", "link=br0"]),
    (err) => err instanceof Oci2LxcError && err.message.includes("cannot be combined with other --net options"),
  );
  assert.deepEqual(parseNetSpecs([]), []);
});

Deno.test("wantsDhcp is true only when a family asks for DHCP", () => {
  assert.deepEqual(wantsDhcp(parseNetSpecs(["ip=10.0.0.5/24,ip6=auto"])), false);
  assert.deepEqual(wantsDhcp(parseNetSpecs(["none"])), false);
  assert.deepEqual(wantsDhcp(parseNetSpecs(["ip=none,ip6=dhcp"])), true);
  assert.deepEqual(wantsDhcp(parseNetSpecs(["link=br0"])), true);
});

Deno.test("netSpecSummary says type, link, both families, mtu and hwaddr", () => {
  assert.deepEqual(netSpecSummary(parseNetSpec("none")), "none: loopback only");
  assert.deepEqual(netSpecSummary(parseNetSpec("link=br0")), "eth0: veth on br0, IPv4 DHCP, IPv6 SLAAC (kernel)");
  assert.deepEqual(
    netSpecSummary(
      parseNetSpec("name=lan,ip=10.0.0.5/24,gw=10.0.0.1,ip6=fd00::5/64,mtu=9000,hwaddr=00:16:3e:00:00:01"),
    ),
    "lan: veth on no bridge, 10.0.0.5/24 via 10.0.0.1, fd00::5/64, mtu 9000, hwaddr 00:16:3e:00:00:01",
  );
});

Deno.test("netSpecWarnings flags a veth without a bridge, louder when it wants DHCP", () => {
  assert.deepEqual(netSpecWarnings(parseNetSpecs(["link=br0", "ip=10.0.0.5/24"])), [
    "eth1 has no link=, so the host end of its veth is on no bridge",
  ]);
  assert.deepEqual(netSpecWarnings(parseNetSpecs(["ip=dhcp"])), [
    "eth0 has no link=, so the host end of its veth is on no bridge; DHCP gets no answer until something attaches it",
  ]);
});

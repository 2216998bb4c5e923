import assert from "node:assert/strict";
import { dhcpHookArgs, lxcNetLines, shellWord } from "../../core/network/lxc_net_lines.ts";
import { parseNetSpecs } from "../../core/network/net_spec.ts";
import { Oci2LxcError } from "../../core/errors.ts";

const FIXED = (n: number) => new Uint8Array(n).fill(0xab);
const DEST = "/var/lib/lxc/web";

Deno.test("lxcNetLines writes --net none as an empty network (loopback only)", () => {
  assert.deepEqual(lxcNetLines(parseNetSpecs(["none"]), { kind: "app", dest: DEST }), [["lxc.net.0.type", "empty"]]);
  assert.deepEqual(lxcNetLines([], { kind: "app", dest: DEST }), []);
});

Deno.test("lxcNetLines gives an app container its static addresses and gateways, in order", () => {
  const specs = parseNetSpecs([
    "link=br0,ip=10.0.3.5/24,gw=10.0.3.1,ip6=fd00::5/64,gw6=fd00::1,mtu=1400,hwaddr=00:16:3e:01:02:03",
  ]);
  assert.deepEqual(lxcNetLines(specs, { kind: "app", dest: DEST }), [
    ["lxc.net.0.type", "veth"],
    ["lxc.net.0.link", "br0"],
    ["lxc.net.0.name", "eth0"],
    ["lxc.net.0.flags", "up"],
    ["lxc.net.0.hwaddr", "00:16:3e:01:02:03"],
    ["lxc.net.0.mtu", "1400"],
    ["lxc.net.0.ipv4.address", "10.0.3.5/24"],
    ["lxc.net.0.ipv4.gateway", "10.0.3.1"],
    ["lxc.net.0.ipv6.address", "fd00::5/64"],
    ["lxc.net.0.ipv6.gateway", "fd00::1"],
  ]);
});

Deno.test("lxcNetLines leaves addresses to a system container's distro and writes no hooks", () => {
  const specs = parseNetSpecs(["link=br0,ip=10.0.3.5/24,gw=10.0.3.1", "type=macvlan,link=enp1s0"]);
  assert.deepEqual(lxcNetLines(specs, { kind: "system", dest: DEST, randomBytes: FIXED }), [
    ["lxc.net.0.type", "veth"],
    ["lxc.net.0.link", "br0"],
    ["lxc.net.0.name", "eth0"],
    ["lxc.net.0.flags", "up"],
    ["lxc.net.0.hwaddr", "00:16:3e:ab:ab:ab"],
    ["lxc.net.1.type", "macvlan"],
    ["lxc.net.1.link", "enp1s0"],
    ["lxc.net.1.macvlan.mode", "bridge"],
    ["lxc.net.1.name", "eth1"],
    ["lxc.net.1.flags", "up"],
    ["lxc.net.1.hwaddr", "00:16:3e:ab:ab:ab"],
  ]);
});

Deno.test("lxcNetLines gives an app container with DHCP our start-host and stop hooks and the resolv.conf mount", () => {
  const specs = parseNetSpecs(["link=br0", "link=br1,ip=none,ip6=dhcp,mtu=9000"]);
  const lines = lxcNetLines(specs, {
    kind: "app",
    dest: "/srv/my containers/web",
    self: ["/usr/bin/deno", "run", "-A", "/opt/it's/main.ts"],
    randomBytes: FIXED,
  });
  assert.deepEqual(lines.slice(-3), [
    [
      "lxc.hook.start-host",
      "/usr/bin/deno run -A '/opt/it'\\''s/main.ts' hook dhcp start --dir '/srv/my containers/web' --v4 eth0 --v6 eth1 --keep-mtu eth1 --timeout 10 --",
    ],
    ["lxc.hook.stop", "/usr/bin/deno run -A '/opt/it'\\''s/main.ts' hook dhcp stop --dir '/srv/my containers/web' --"],
    ["lxc.mount.entry", "/srv/my\\040containers/web/network/resolv.conf etc/resolv.conf none bind,create=file 0 0"],
  ]);
  // No address lines for DHCP families: the hook's client sets them.
  assert.deepEqual(lines.some(([k]) => k.includes(".ipv4.") || k.includes(".ipv6.")), false);
});

Deno.test("lxcNetLines writes no DHCP hooks for a system container, whose distro runs DHCP", () => {
  const lines = lxcNetLines(parseNetSpecs(["link=br0"]), { kind: "system", dest: DEST, randomBytes: FIXED });
  assert.deepEqual(lines.some(([k]) => k.startsWith("lxc.hook.") || k === "lxc.mount.entry"), false);
});

Deno.test("lxcNetLines refuses a relative DEST, a missing self and a bad timeout", () => {
  const specs = parseNetSpecs(["link=br0"]);
  assert.throws(
    () => lxcNetLines(specs, { kind: "app", dest: "web", self: ["oci2lxc"] }),
    (err) => err instanceof Oci2LxcError && err.message.includes("must be an absolute path"),
  );
  assert.throws(
    () => lxcNetLines(specs, { kind: "app", dest: DEST }),
    (err) => err instanceof TypeError && err.message.includes("options.self"),
  );
  assert.throws(
    () => lxcNetLines(specs, { kind: "app", dest: DEST, self: ["oci2lxc"], dhcpTimeoutSeconds: 1.5 }),
    (err) => err instanceof Oci2LxcError && err.message.includes("give whole seconds from 0 to 300"),
  );
});

Deno.test("lxcNetLines writes a fresh random hwaddr per interface when none is given", () => {
  const specs = parseNetSpecs(["link=br0", "link=br1"]);
  const macs = lxcNetLines(specs, { kind: "system", dest: DEST }).filter(([k]) => k.endsWith(".hwaddr")).map(([, v]) =>
    v
  );
  assert.deepEqual(macs.length, 2);
  for (const mac of macs) assert.deepEqual(/^00:16:3e(:[0-9a-f]{2}){3}$/.test(mac), true);
});

Deno.test("shellWord reads back through sh -c exactly, for spaces, quotes and shell characters", async () => {
  const words = ["plain", "with space", "it's", "$HOME", 'a"b', "`x`", "semi;colon", "*", "", "--"];
  const out = await new Deno.Command("/bin/sh", {
    args: ["-c", `printf '%s\\n' ${words.map(shellWord).join(" ")}`],
    stdout: "piped",
  }).output();
  assert.deepEqual(new TextDecoder().decode(out.stdout), words.map((w) => w + "\n").join(""));
});

Deno.test("dhcpHookArgs ends with -- so LXC's appended words are positionals", () => {
  assert.deepEqual(dhcpHookArgs("stop", [], DEST, 10), ["hook", "dhcp", "stop", "--dir", DEST, "--"]);
});

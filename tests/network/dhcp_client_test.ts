/**
 * The DHCP client command lines, against this host's real busybox and dhclient (no network needed: nothing runs).
 */
import assert from "node:assert/strict";
import { dhclientConf, dhcpClientFor } from "../../core/network/dhcp_client.ts";
import { networkPaths } from "../../core/network/network_dir.ts";
import { isHostLabel } from "../../core/plan/hostname.ts";

const paths = networkPaths("/var/lib/lxc/web");

Deno.test("dhcpClientFor gives udhcpc the event script and, for IPv4 only, the host name", () => {
  const v4 = dhcpClientFor(4, "eth0", paths, "udhcpc", "web");
  const v6 = dhcpClientFor(6, "eth0", paths, "udhcpc", "web");
  if (typeof v4 === "string") {
    assert(v4.includes("no udhcpc on this host"), v4);
    return;
  }
  assert.deepEqual(v4.program, "udhcpc");
  const args = v4.argv.slice(v4.argv.indexOf("-f"));
  assert.deepEqual(args, [
    "-f",
    "-R",
    "-i",
    "eth0",
    "-s",
    "/var/lib/lxc/web/network/dhcp-event",
    "-t",
    "10",
    "-T",
    "1",
    "-A",
    "5",
    "-O",
    "mtu",
    "-O",
    "staticroutes",
    "-O",
    "search",
    "-x",
    "hostname:web",
  ]);
  if (typeof v6 !== "string") {
    assert.deepEqual(v6.argv.slice(v6.argv.indexOf("-f")), [
      "-f",
      "-R",
      "-i",
      "eth0",
      "-s",
      "/var/lib/lxc/web/network/dhcp-event6",
      "-t",
      "10",
      "-T",
      "1",
      "-A",
      "5",
    ]);
  }
});

Deno.test("dhcpClientFor gives dhclient its config, lease and pid files under DEST/network/run", () => {
  const c = dhcpClientFor(6, "eth1", paths, "dhclient", undefined);
  if (typeof c === "string") {
    assert.deepEqual(
      c,
      "no DHCP client for IPv6 on this host: install busybox (udhcpc6, which Debian's busybox lacks) or isc-dhcp-client (dhclient)",
    );
    return;
  }
  assert.deepEqual(c.argv.slice(1), [
    "-6",
    "-d",
    "-cf",
    "/var/lib/lxc/web/network/dhclient.conf",
    "-lf",
    "/var/lib/lxc/web/network/run/dhclient-eth1-6.leases",
    "-pf",
    "/var/lib/lxc/web/network/run/dhclient-eth1-6.pid",
    "-sf",
    "/var/lib/lxc/web/network/dhcp-event6",
    "eth1",
  ]);
});

Deno.test("dhclientConf sends the host name only when there is one", () => {
  assert(dhclientConf("web").includes('send host-name "web";\n'));
  assert(!dhclientConf(undefined).includes("host-name"));
});

Deno.test("isHostLabel takes one RFC 1123 label, which is what the DHCP hook sends as the host name", () => {
  for (const ok of ["web", "a", "web-1", "1web", "a".repeat(63)]) assert(isHostLabel(ok), ok);
  for (const bad of ["", "-web", "web-", "web.example", "we_b", "a".repeat(64)]) assert(!isHostLabel(bad), bad);
});

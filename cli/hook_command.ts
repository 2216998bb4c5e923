/**
 * `oci2lxc hook dhcp start|stop`: what LXC runs as `lxc.hook.start-host`
 * and `lxc.hook.stop` for app containers that use DHCP. Not for people;
 * `--help` of the main command does not list it.
 *
 * LXC 5.0.2 runs a hook as `sh -c "exec VALUE NAME lxc HOOKTYPE [NS…]"`
 * (with `lxc.hook.version = 0`, the default) and sets `LXC_PID` (the
 * container's init) for start-host. The config ends our words with `--`,
 * so the words LXC appends arrive as positionals: the first is the
 * container name.
 *
 * @module
 */
import { Oci2LxcError } from "../core/errors.ts";
import { type DhcpClientChoice, startDhcp, stopDhcp } from "../core/network/dhcp_hook.ts";
import type { Command } from "./commands.ts";
import { printOut } from "./output.ts";

const IFACE = /^[A-Za-z0-9_.-]{1,15}$/;

function list(value: string | boolean | string[] | undefined, what: string): string[] {
  const items = value === undefined ? [] : Array.isArray(value) ? value : [String(value)];
  for (const item of items) {
    if (!IFACE.test(item)) {
      throw new Oci2LxcError("usage", `Cannot run hook dhcp: ${what} ${JSON.stringify(item)} is not an interface name`);
    }
  }
  return items;
}

/** The hook command. */
export const hookCommand: Command = {
  name: "hook",
  summary: "run as an LXC hook (DHCP for app containers); written into configs by convert",
  usage: "oci2lxc hook dhcp start|stop --dir DEST [--v4 IFACE]... [--v6 IFACE]... [--timeout S] [-- LXC's arguments]",
  description: [
    "LXC runs 'hook dhcp start' as lxc.hook.start-host: it starts a DHCP client for each",
    "interface inside the container's network namespace (LXC_PID, or --pid) and waits up",
    "to --timeout seconds for the first leases. 'hook dhcp stop' (lxc.hook.stop) ends the",
    "clients. DHCP problems never stop the container from starting; they are logged in",
    "DEST/network/dhcp.log. Leases' DNS servers go to DEST/network/resolv.conf, which the",
    "container sees as /etc/resolv.conf.",
  ].join("\n"),
  examples: [
    "oci2lxc hook dhcp start --dir /var/lib/lxc/web --v4 eth0 --timeout 10 -- web lxc start-host",
    "oci2lxc hook dhcp stop --dir /var/lib/lxc/web -- web lxc stop",
  ],
  options: {
    dir: { type: "string", value: "DEST", help: "The container directory (DEST/network holds the DHCP state)" },
    v4: { type: "string", multiple: true, value: "IFACE", help: "Run a DHCPv4 client on this interface (repeatable)" },
    v6: { type: "string", multiple: true, value: "IFACE", help: "Run a DHCPv6 client on this interface (repeatable)" },
    "keep-mtu": {
      type: "string",
      multiple: true,
      value: "IFACE",
      help: "Ignore the server's MTU on this interface (repeatable)",
    },
    timeout: { type: "string", value: "SECONDS", help: "How long start waits for the first leases (default 10)" },
    pid: { type: "string", value: "PID", help: "A process in the container's network namespace (default: $LXC_PID)" },
    client: {
      type: "string",
      value: "auto|udhcpc|dhclient",
      help: "Which DHCP client to run (default auto: busybox first)",
    },
  },
  positionals: [2, 64],
  async run(args) {
    const [topic, action, ...lxcArgs] = args.positionals;
    if (topic !== "dhcp") {
      throw new Oci2LxcError("usage", `Cannot run hook ${JSON.stringify(topic)}: the only hook is dhcp`);
    }
    const dir = args.values.dir;
    if (typeof dir !== "string" || !dir.startsWith("/")) {
      throw new Oci2LxcError("usage", "Cannot run hook dhcp: --dir DEST (an absolute path) is required");
    }
    if (action === "stop") {
      const n = await stopDhcp({ dir });
      printOut(`oci2lxc dhcp: stopped ${n} client(s)`);
      return 0;
    }
    if (action !== "start") {
      throw new Oci2LxcError("usage", `Cannot run hook dhcp ${JSON.stringify(action)}: give start or stop`);
    }

    const pidText = (args.values.pid as string | undefined) ?? Deno.env.get("LXC_PID");
    if (pidText === undefined || !/^[1-9][0-9]*$/.test(pidText)) {
      throw new Oci2LxcError(
        "usage",
        `Cannot run hook dhcp start: ${pidText === undefined ? "LXC_PID is not set" : `bad pid "${pidText}"`}`,
        {
          hint: "It runs as LXC's lxc.hook.start-host; by hand, give --pid of a process in the container",
        },
      );
    }
    const timeoutText = (args.values.timeout as string | undefined) ?? "10";
    if (!/^[0-9]{1,3}(\.[0-9]+)?$/.test(timeoutText)) {
      throw new Oci2LxcError(
        "usage",
        `Cannot run hook dhcp start: --timeout ${JSON.stringify(timeoutText)} is not a number of seconds`,
      );
    }
    const client = (args.values.client as string | undefined) ?? "auto";
    if (client !== "auto" && client !== "udhcpc" && client !== "dhclient") {
      throw new Oci2LxcError(
        "usage",
        `Cannot run hook dhcp start: --client ${JSON.stringify(client)} is not auto, udhcpc or dhclient`,
      );
    }
    const name = lxcArgs[0] ?? Deno.env.get("LXC_NAME");
    const result = await startDhcp({
      dir,
      pid: Number(pidText),
      v4: list(args.values.v4, "--v4"),
      v6: list(args.values.v6, "--v6"),
      keepMtu: list(args.values["keep-mtu"], "--keep-mtu"),
      timeoutMs: Math.round(Number(timeoutText) * 1000),
      client: client as DhcpClientChoice,
      ...(name !== undefined ? { name } : {}),
    });
    const leases = result.clients.map((c) => `${c.iface}/v${c.family} ${c.address ?? "no lease yet"}`);
    printOut(`oci2lxc dhcp: ${leases.join(", ") || "no clients"} (log: ${result.log})`);
    return 0;
  },
};

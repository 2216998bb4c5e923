/**
 * Hostname, /etc/hosts and /etc/resolv.conf.
 *
 * App containers get generated files beside the rootfs (DEST/network/…) bind-mounted over the image's, as Docker and
 * Incus do: the image's files stay untouched, the DHCP hook can update resolv.conf in place, and nothing is ever
 * written through a path the image controls. System containers own their /etc: we write /etc/hostname and a /etc/hosts
 * line into the rootfs (confined), and leave resolv.conf to the distribution's own network setup.
 *
 * | hook   | kind       | runs after                       | runs before     |
 * | ------ | ---------- | -------------------------------- | --------------- |
 * | rootfs | sequential | planning and the network plugin  | config render   |
 * | config | sequential | the LXC config render            | commit          |
 *
 * @module
 */
import type { ConversionContext } from "../core/conversion.ts";
import { mountEntry } from "../core/lxc/mount_entry.ts";
import { definePlugin, type Plugin } from "../core/plugin.ts";
import { ensureFileMountTarget } from "./mount_target.ts";

/** Options of {@linkcode hostsFiles}. */
export interface HostsFilesOptions {
  /** Host resolv.conf copied for app containers with a static network (loopback servers are dropped). */
  hostResolvConf?: string;
}

/** Defaults of {@linkcode hostsFiles}. */
export const defaults = { hostResolvConf: "/etc/resolv.conf" } satisfies HostsFilesOptions;

/** The generated files' folder beside the rootfs. */
export const NETWORK_DIR = "network";

/** /etc/hosts for a container named `hostname`. */
export function hostsFile(hostname: string): string {
  return [
    "127.0.0.1\tlocalhost",
    `127.0.1.1\t${hostname}`,
    "::1\tlocalhost ip6-localhost ip6-loopback",
    "ff02::1\tip6-allnodes",
    "ff02::2\tip6-allrouters",
    "",
  ].join("\n");
}

/** resolv.conf from the host's, without loopback servers (they mean nothing inside the container). */
export function filterResolvConf(text: string): string {
  return text.split("\n").filter((line) => !/^\s*nameserver\s+(127\.|::1\b)/.test(line)).join("\n");
}

function hasNetwork(context: ConversionContext): boolean {
  return context.plan.network.some((n) => n.type !== "empty");
}

/** The hostname/hosts/resolv.conf plugin. */
export function hostsFiles(options: HostsFilesOptions = {}): Plugin<ConversionContext> {
  const resolved = { ...defaults, ...options };
  // Files this plugin generated, per conversion; another plugin's (DHCP's resolv.conf) are its own to mount.
  const made = new WeakMap<ConversionContext, string[]>();
  return definePlugin<ConversionContext>({
    name: "hosts-files",
    options: resolved,
    rootfs(context) {
      const hostname = context.plan.hostname;
      if (context.plan.kind === "system") {
        context.rootfs.writeFile("/etc/hostname", `${hostname}\n`);
        const hosts = context.rootfs.readText("/etc/hosts");
        if (hosts === undefined) context.rootfs.writeFile("/etc/hosts", hostsFile(hostname));
        else if (!new RegExp(`^127\\.0\\.1\\.1\\s+${hostname.replace(/\./g, "\\.")}\\b`, "m").test(hosts)) {
          context.rootfs.writeFile("/etc/hosts", `${hosts.replace(/\n*$/, "\n")}127.0.1.1\t${hostname}\n`);
        }
        return;
      }
      // Files beside the rootfs, bind-mounted: plain LXC only (a Proxmox VE template has nothing beside its rootfs).
      if (context.format === "pve") return;
      const mine = ["hostname", "hosts"];
      made.set(context, mine);
      context.files.set(`${NETWORK_DIR}/hostname`, { data: `${hostname}\n`, mode: 0o644 });
      context.files.set(`${NETWORK_DIR}/hosts`, { data: hostsFile(hostname), mode: 0o644 });
      if (hasNetwork(context) && !context.files.has(`${NETWORK_DIR}/resolv.conf`)) {
        let text = "";
        try {
          text = filterResolvConf(Deno.readTextFileSync(resolved.hostResolvConf));
        } catch {
          context.warn(`cannot read ${resolved.hostResolvConf}: the container gets an empty resolv.conf`);
        }
        context.files.set(`${NETWORK_DIR}/resolv.conf`, { data: text, mode: 0o644 });
        mine.push("resolv.conf");
      }
      for (const name of mine) ensureFileMountTarget(context, `/etc/${name}`);
    },
    config(context) {
      if (context.plan.kind === "system") return;
      for (const name of made.get(context) ?? []) {
        const source = `${context.dest}/${NETWORK_DIR}/${name}`;
        context.config.add("lxc.mount.entry", mountEntry(source, `/etc/${name}`, "none", "bind,create=file"));
      }
    },
  });
}

export default hostsFiles;

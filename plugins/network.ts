/**
 * Networking from `--net`: the plan's LXC interfaces (static addresses that LXC configures before an app starts), and
 * for app containers that ask for DHCP, the host-side hooks that run a DHCP client in the container's network namespace
 * and keep it renewing (`oci2lxc hook dhcp`).
 *
 * | hook   | kind       | runs after           | runs before                    |
 * | ------ | ---------- | -------------------- | ------------------------------ |
 * | plan   | sequential | makePlan             | rootfs hooks (distro files)    |
 * | config | sequential | the LXC config render | commit                        |
 *
 * @module
 */
import type { ConversionContext } from "../core/conversion.ts";
import { type LxcLine, lxcNetLines } from "../core/network/lxc_net_lines.ts";
import { netSpecSummary, netSpecWarnings, wantsDhcp } from "../core/network/net_spec.ts";
import { RESOLV_CONF_HEADER } from "../core/network/network_dir.ts";
import type { PlanNetwork } from "../core/plan/container_plan.ts";
import { definePlugin, type Plugin } from "../core/plugin.ts";
import { ensureFileMountTarget } from "./mount_target.ts";

/** Options of {@linkcode network}. */
export interface NetworkOptions {
  /** Seconds the DHCP start hook waits for a first lease before the app starts. */
  dhcpTimeoutSeconds?: number;
}

/** Defaults of {@linkcode network}. */
export const defaults = { dhcpTimeoutSeconds: 10 } satisfies NetworkOptions;

/** Split LXC lines into the plan's interfaces and the other lines (hooks, mounts). */
export function splitNetLines(lines: readonly LxcLine[]): { interfaces: PlanNetwork[]; rest: LxcLine[] } {
  const byIndex = new Map<number, { type: string; keys: [string, string][] }>();
  const rest: LxcLine[] = [];
  for (const [key, value] of lines) {
    const m = /^lxc\.net\.(\d+)\.(.+)$/.exec(key);
    if (!m) {
      rest.push([key, value]);
      continue;
    }
    const index = Number(m[1]);
    const entry = byIndex.get(index) ?? { type: "", keys: [] };
    if (m[2] === "type") entry.type = value;
    else entry.keys.push([m[2]!, value]);
    byIndex.set(index, entry);
  }
  const interfaces = [...byIndex.entries()].sort(([a], [b]) => a - b).map(([, e]) => e);
  return { interfaces, rest };
}

/** The network plugin. */
export function network(options: NetworkOptions = {}): Plugin<ConversionContext> {
  const resolved = { ...defaults, ...options };
  const pending = new WeakMap<ConversionContext, LxcLine[]>();
  return definePlugin<ConversionContext>({
    name: "network",
    options: resolved,
    plan(context) {
      const specs = context.plan.net;
      if (specs.length === 0) return;
      for (const w of netSpecWarnings(specs)) context.warn(w);
      const lines = lxcNetLines(specs, {
        kind: context.plan.kind,
        dest: context.dest,
        ...(context.options.selfCommand ? { self: context.options.selfCommand } : {}),
        dhcpTimeoutSeconds: resolved.dhcpTimeoutSeconds,
      });
      const { interfaces, rest } = splitNetLines(lines);
      context.plan = { ...context.plan, network: interfaces };
      // Proxmox VE sets the interfaces up itself (netN in the conf): the host-side DHCP hooks and the resolv.conf
      // bind-mounted from beside the rootfs are plain LXC's, and a template has nothing beside its rootfs.
      if (context.format !== "pve") {
        pending.set(context, rest);
        if (context.plan.kind === "app" && wantsDhcp(specs)) {
          // The hook rewrites it in place at every lease; it must exist before the first start.
          context.files.set("network/resolv.conf", { data: RESOLV_CONF_HEADER, mode: 0o644 });
        }
      }
      for (const s of specs) context.warn(`network: ${netSpecSummary(s)}`);
    },
    rootfs(context) {
      if (context.files.has("network/resolv.conf") && pending.get(context)?.some(([k]) => k === "lxc.mount.entry")) {
        ensureFileMountTarget(context, "/etc/resolv.conf");
      }
    },
    config(context) {
      for (const [key, value] of pending.get(context) ?? []) context.config.add(key, value);
    },
  });
}

export default network;

/**
 * The hostname rule, in one place: labels of letters, digits and inner `-` (RFC 1123), at most 63 characters each,
 * joined by dots, at most 64 in all (the kernel's UTS name length). The plan's `lxc.uts.name`, Proxmox VE's
 * `hostname` (a DNS name) and the name the DHCP client sends all follow it.
 *
 * @module
 */

const HOST_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** Whether `text` is one hostname label (`web-1`), as a DHCP client sends it. */
export function isHostLabel(text: string): boolean {
  return HOST_LABEL.test(text);
}

/**
 * Whether `text` is a valid hostname (`web-1` or `web-1.example.org`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isHostname } from "./hostname.ts";
 * assert(isHostname("web-1.example.org"));
 * assert(!isHostname("web_1") && !isHostname("-web") && !isHostname("a..b"));
 * ```
 */
export function isHostname(text: string): boolean {
  return text.length <= 64 && text.split(".").every(isHostLabel);
}

/**
 * A valid hostname made from a container name: other characters become `-`, at most 63 characters, `container` if
 * nothing is left.
 */
export function hostnameFrom(name: string): string {
  const dashed = name.replace(/[^A-Za-z0-9-]+/g, "-").replace(/^-+|-+$/g, "");
  const h = dashed.slice(0, 63).replace(/-+$/, "");
  return h === "" ? "container" : h;
}

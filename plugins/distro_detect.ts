/**
 * Names the distribution of the assembled rootfs from /etc/os-release (`ID`, `ID_LIKE`, `VERSION_ID`), then from the
 * usual marker files. An unknown distribution is `unmanaged`, with a warning, never an abort.
 *
 * | hook         | kind  | runs after                 | runs before        |
 * | ------------ | ----- | -------------------------- | ------------------ |
 * | detectDistro | first | assembly of every layer    | planning, `plan`   |
 *
 * @module
 */
import type { ConversionContext, DistroInfo } from "../core/conversion.ts";
import { definePlugin, type Plugin } from "../core/plugin.ts";
import type { RootfsAccess } from "../core/rootfs/rootfs_access.ts";

/** Options of {@linkcode distroDetect}. */
export interface DistroDetectOptions {
  /** Files that name a distribution when os-release is missing, in the order tried. */
  markers?: ReadonlyArray<readonly [path: string, id: string]>;
}

/** Defaults of {@linkcode distroDetect}. */
export const defaults = {
  markers: [
    ["/etc/debian_version", "debian"],
    ["/etc/alpine-release", "alpine"],
    ["/etc/fedora-release", "fedora"],
    ["/etc/redhat-release", "rhel"],
    ["/etc/arch-release", "arch"],
    ["/etc/SuSE-release", "opensuse"],
    ["/etc/gentoo-release", "gentoo"],
  ],
} satisfies DistroDetectOptions;

const FAMILIES: Record<string, string> = {
  debian: "debian",
  ubuntu: "debian",
  devuan: "debian",
  raspbian: "debian",
  kali: "debian",
  linuxmint: "debian",
  alpine: "alpine",
  fedora: "redhat",
  rhel: "redhat",
  centos: "redhat",
  rocky: "redhat",
  almalinux: "redhat",
  arch: "arch",
  opensuse: "suse",
  "opensuse-leap": "suse",
  "opensuse-tumbleweed": "suse",
  sles: "suse",
  gentoo: "gentoo",
};

const SYSTEMD_PATHS = ["/lib/systemd/systemd", "/usr/lib/systemd/systemd"];

/** Parse os-release text (shell-like `KEY=value`, values optionally quoted). */
export function parseOsRelease(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let value = m[2]!;
    const q = value[0];
    if ((q === '"' || q === "'") && value.endsWith(q) && value.length >= 2) {
      value = value.slice(1, -1);
      if (q === '"') value = value.replace(/\\(["\\$`])/g, "$1");
    }
    out.set(m[1]!, value);
  }
  return out;
}

/** Find the distribution of a rootfs. */
export function detect(rootfs: RootfsAccess, options: Required<DistroDetectOptions> = defaults): DistroInfo {
  const text = rootfs.readText("/etc/os-release") ?? rootfs.readText("/usr/lib/os-release");
  let id: string | undefined;
  let like: string[] = [];
  let version: string | undefined;
  if (text !== undefined) {
    const fields = parseOsRelease(text);
    id = fields.get("ID")?.toLowerCase();
    like = (fields.get("ID_LIKE") ?? "").toLowerCase().split(/\s+/).filter(Boolean);
    version = fields.get("VERSION_ID");
  }
  if (!id) id = options.markers.find(([path]) => rootfs.exists(path))?.[1];
  const families = new Set<string>();
  for (const name of [id ?? "", ...like]) {
    const family = FAMILIES[name];
    if (family) families.add(family);
  }
  if (SYSTEMD_PATHS.some((p) => rootfs.exists(p))) families.add("systemd");
  return { id: id ?? "unmanaged", like, version, families: [...families].sort() };
}

/** The distribution detector. */
export function distroDetect(options: DistroDetectOptions = {}): Plugin<ConversionContext> {
  const resolved = { ...defaults, ...options };
  return definePlugin<ConversionContext>({
    name: "distro-detect",
    options: resolved,
    order: "pre",
    detectDistro(context) {
      const info = detect(context.rootfs, resolved);
      if (info.id === "unmanaged") {
        context.warn(
          "no /etc/os-release or known marker file: the distribution is unknown, so no distro setup is done",
        );
      }
      return info;
    },
  });
}

export default distroDetect;

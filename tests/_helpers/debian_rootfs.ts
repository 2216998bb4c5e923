/**
 * A real Debian root filesystem for system-container tests, made by
 * `debootstrap` from the apt mirror this machine already uses, and cached
 * outside the repository as one tar per package list
 * (`/var/cache/oci2lxc-tests/debian-bookworm-<hash>.tar`): the first run
 * pays a debootstrap (about half a minute to a few minutes), every later
 * run reads the tar.
 *
 * Concurrent runs are safe without a lock: each builds under a temp name
 * in the cache directory and renames the finished tar into place, so a
 * reader only ever sees a whole tar (two cold runs may both build; the
 * last rename wins with identical content).
 *
 * Needs root (debootstrap, chroot); installs `debootstrap` with apt-get
 * when it is missing.
 *
 * Tests never build it: a test's traffic stays on loopback and in its own
 * namespaces, so the download is a set-up step like `apt-get install`
 * (`scripts/test.sh` runs `deno run -A tests/_helpers/debian_rootfs.ts`),
 * and a test without the cache fails saying so.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { aptMirror } from "./apt_mirror.ts";
import { run as runTool, tarOf, writeOciDir } from "./oci_builder.ts";
import { requireSystemTier } from "./tier.ts";

/** Where cached root filesystems live (outside the repository). */
export const DEFAULT_CACHE_DIR = "/var/cache/oci2lxc-tests";

/**
 * What the default image holds beyond `minbase`: sysvinit as /sbin/init
 * (boots under plain LXC with nothing to configure), ifupdown with ISC
 * dhclient for /etc/network/interfaces, and iproute2 for ifupdown's `ip`.
 */
export const DEBIAN_SYSTEM_PACKAGES: readonly string[] = ["sysvinit-core", "ifupdown", "isc-dhcp-client", "iproute2"];

/**
 * The systemd variant: systemd as /sbin/init, and no ifupdown, so the
 * converter's systemd-networkd files configure the network; systemd-resolved
 * (its own package since bookworm) turns the DNS servers networkd learns
 * into /etc/resolv.conf, as on a Debian installed with systemd-networkd.
 * dbus is named because resolved depends on the virtual `dbus-system-bus`,
 * which debootstrap does not resolve.
 */
export const DEBIAN_SYSTEMD_PACKAGES: readonly string[] = ["systemd-sysv", "systemd-resolved", "dbus", "iproute2"];

/** Every package list the tests use: what `deno run -A tests/_helpers/debian_rootfs.ts` builds. */
export const DEBIAN_TEST_PACKAGE_LISTS: readonly (readonly string[])[] = [
  DEBIAN_SYSTEM_PACKAGES,
  DEBIAN_SYSTEMD_PACKAGES,
];

// Bump when the recipe below changes in a way the package list does not show.
const RECIPE = 1;
const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const FALLBACK_MIRROR = "http://deb.debian.org/debian";
const DEBOOTSTRAP_MS = 20 * 60_000;
const APT_MS = 5 * 60_000;
const decoder = new TextDecoder();

/** Options of {@linkcode debianRootfsTar}. */
export interface DebianRootfsOptions {
  /** Debian suite (default "bookworm"). */
  suite?: string;
  /** Packages added to `minbase` (default {@linkcode DEBIAN_SYSTEM_PACKAGES}). */
  include?: readonly string[];
  /** Cache directory (default {@linkcode DEFAULT_CACHE_DIR}). */
  cacheDir?: string;
  /** Mirror URL (default: the host's apt mirror). */
  mirror?: string;
  /** Run debootstrap when the cache has no tar (default false: throw). */
  build?: boolean;
}

/** Run argv with a bounded time; throws with its output unless it succeeds. */
async function must(argv: readonly string[], timeoutMs: number): Promise<string> {
  const [cmd, ...args] = argv;
  const out = await new Deno.Command(cmd!, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { PATH: SYSTEM_PATH, DEBIAN_FRONTEND: "noninteractive", LC_ALL: "C" },
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  if (out.code !== 0) {
    const tail = (decoder.decode(out.stdout) + decoder.decode(out.stderr)).trim().split("\n").slice(-30).join("\n");
    throw new Error(`Cannot run ${argv.join(" ")}: exit ${out.code}${out.signal ? ` (${out.signal})` : ""}\n${tail}`);
  }
  return decoder.decode(out.stdout);
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The cache file name for a package list: `debian-<suite>-<hash>.tar`. */
export function cacheName(suite: string, include: readonly string[]): string {
  const key = JSON.stringify({
    recipe: RECIPE,
    suite,
    variant: "minbase",
    arch: Deno.build.arch,
    include: [...include].sort(),
  });
  return `debian-${suite}-${createHash("sha256").update(key).digest("hex").slice(0, 16)}.tar`;
}

/** Mount points at or under `dir`, deepest first. */
function mountsUnder(dir: string): string[] {
  const points = Deno.readTextFileSync("/proc/self/mountinfo").split("\n")
    .map((l) => l.split(" ")[4]?.replace(/\\040/g, " "))
    .filter((p): p is string => p !== undefined && (p === dir || p.startsWith(`${dir}/`)));
  return points.sort((a, b) => b.length - a.length);
}

/**
 * Remove a debootstrap target. A failed debootstrap can leave /proc, /sys or
 * a bind of the host's /dev mounted inside it: those are unmounted first, and
 * nothing is deleted while any mount remains (deleting through a bind of /dev
 * would delete the host's device nodes).
 */
async function removeTarget(dir: string): Promise<void> {
  for (const point of mountsUnder(dir)) await runTool(["umount", "-l", point]).catch(() => {});
  const left = mountsUnder(dir);
  if (left.length > 0) throw new Error(`Cannot remove ${dir}: still mounted: ${left.join(", ")}`);
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}

/** Remove temp builds left by killed runs: older than any build may last, so none is still in use. */
async function removeAbandoned(cacheDir: string): Promise<void> {
  for (const e of Deno.readDirSync(cacheDir)) {
    if (!e.name.startsWith(".tmp-")) continue;
    const path = `${cacheDir}/${e.name}`;
    const mtime = Deno.statSync(path).mtime?.getTime() ?? Date.now();
    if (Date.now() - mtime > DEBOOTSTRAP_MS) await removeTarget(path).catch(() => {});
  }
}

async function ensureDebootstrap(): Promise<void> {
  if (exists("/usr/sbin/debootstrap")) return;
  console.error("debian_rootfs: installing debootstrap with apt-get");
  await must(["apt-get", "install", "-y", "--no-install-recommends", "debootstrap"], APT_MS).catch(async () => {
    await must(["apt-get", "update"], APT_MS);
    await must(["apt-get", "install", "-y", "--no-install-recommends", "debootstrap"], APT_MS);
  });
}

/**
 * Make the tree an image rather than an installed machine: no device nodes
 * (LXC populates /dev), no apt caches or package lists, no docs, no
 * machine-specific hostname; the same trims Docker's debian images make.
 */
function trimTree(root: string): void {
  for (
    const dir of ["dev", "var/cache/apt", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/locale"]
  ) {
    const path = `${root}/${dir}`;
    if (!exists(path)) continue;
    for (const e of Deno.readDirSync(path)) Deno.removeSync(`${path}/${e.name}`, { recursive: true });
  }
  Deno.writeTextFileSync(`${root}/etc/hostname`, "debian\n");
}

/**
 * The path of a cached tar of a Debian `minbase` root filesystem with
 * `include`; with `build`, made by debootstrap first if the cache has none.
 *
 * @example Use in a test
 * ```ts ignore
 * const tar = await debianRootfsTar();
 * const bytes = await Deno.readFile(tar);
 * ```
 */
export async function debianRootfsTar(options: DebianRootfsOptions = {}): Promise<string> {
  requireSystemTier("the debootstrapped Debian root filesystems");
  const suite = options.suite ?? "bookworm";
  const include = options.include ?? DEBIAN_SYSTEM_PACKAGES;
  const cacheDir = options.cacheDir ?? DEFAULT_CACHE_DIR;
  const path = `${cacheDir}/${cacheName(suite, include)}`;
  if (exists(path)) return path;
  if (!options.build) {
    throw new Error(
      `Cannot find the cached Debian rootfs ${path}: build it first with \`deno run -A tests/_helpers/debian_rootfs.ts\` (scripts/test.sh does)`,
    );
  }

  Deno.mkdirSync(cacheDir, { recursive: true, mode: 0o755 });
  await removeAbandoned(cacheDir);
  const mirror = options.mirror ?? aptMirror(suite) ?? FALLBACK_MIRROR;
  console.error(`debian_rootfs: building the cache ${path} with debootstrap from ${mirror} (once; a few minutes)`);
  await ensureDebootstrap();
  const tmp = `${cacheDir}/.tmp-${crypto.randomUUID()}`;
  const root = `${tmp}/root`;
  Deno.mkdirSync(root, { recursive: true });
  try {
    await must([
      "debootstrap",
      "--variant=minbase",
      `--include=${include.join(",")}`,
      suite,
      root,
      mirror,
    ], DEBOOTSTRAP_MS);
    const left = mountsUnder(root);
    if (left.length > 0) {
      throw new Error(`Cannot use the debootstrap result in ${root}: still mounted: ${left.join(", ")}`);
    }
    trimTree(root);
    const tar = await tarOf(root);
    Deno.writeFileSync(`${tmp}/rootfs.tar`, tar);
    Deno.renameSync(`${tmp}/rootfs.tar`, path);
  } finally {
    await removeTarget(tmp);
  }
  return path;
}

/** What {@linkcode debianSystemImage} built. */
export interface DebianSystemImage {
  /** The OCI layout directory. */
  dir: string;
  /** The cached rootfs tar it was made from. */
  tarPath: string;
}

/**
 * An OCI layout directory at `dir` holding one gzip layer made from the
 * cached Debian rootfs tar, with `Cmd ["/sbin/init"]` so the converter
 * makes a system container.
 */
export async function debianSystemImage(dir: string, options: DebianRootfsOptions = {}): Promise<DebianSystemImage> {
  const tarPath = await debianRootfsTar(options);
  const tar = await Deno.readFile(tarPath);
  await writeOciDir(dir, [{ tar, compression: "gzip" }], { Cmd: ["/sbin/init"], Env: [`PATH=${SYSTEM_PATH}`] });
  return { dir, tarPath };
}

if (import.meta.main) {
  // One after the other: two debootstraps at once would only compete for the same mirror and disk.
  for (const include of DEBIAN_TEST_PACKAGE_LISTS) console.log(await debianRootfsTar({ include, build: true }));
}

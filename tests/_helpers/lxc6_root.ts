/**
 * A Debian 13 (trixie) root filesystem with LXC 6 installed, to start the
 * same container under LXC 6 beside the host's LXC 5 (tests/e2e/_lxc6.ts runs
 * it). Made once in the test set-up from the host's apt mirror, as the
 * bookworm system root is: `debianRootfsTar` builds and caches the tar, and
 * this helper unpacks it into a directory beside it
 * (`/var/cache/oci2lxc-tests/lxc6-trixie-<hash>/`) that tests chroot into.
 *
 * A concurrent build is safe as in debian_rootfs.ts: the tree is unpacked
 * under a `.tmp-` name in the cache directory and renamed into place whole.
 *
 * Tests never build it (`scripts/test.sh` runs `deno run -A tests/_helpers/lxc6_root.ts`); a test without the cache
 * fails saying how to build it.
 *
 * @module
 */
import { aptMirror } from "./apt_mirror.ts";
import { cacheName, debianRootfsTar, DEFAULT_CACHE_DIR } from "./debian_rootfs.ts";
import { run } from "./oci_builder.ts";

/** What the LXC 6 root holds beyond `minbase`: LXC itself, a static busybox for test programs, and `ip`. */
export const LXC6_PACKAGES: readonly string[] = ["lxc", "busybox-static", "iproute2"];

/** The Debian suite whose LXC is 6.0.x (trixie has 6.0.4). */
export const LXC6_SUITE = "trixie";

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Options of {@linkcode lxc6Root}. */
export interface Lxc6RootOptions {
  /** Cache directory (default: the one of debian_rootfs.ts). */
  cacheDir?: string;
  /** Debootstrap and unpack when the cache has no tree (default false: throw). */
  build?: boolean;
}

/**
 * The path of the cached trixie root with LXC 6; with `build`, made first if
 * the cache has none.
 */
export async function lxc6Root(options: Lxc6RootOptions = {}): Promise<string> {
  const cacheDir = options.cacheDir ?? DEFAULT_CACHE_DIR;
  const dir = `${cacheDir}/lxc6-${cacheName(LXC6_SUITE, LXC6_PACKAGES).replace(/^debian-/, "").replace(/\.tar$/, "")}`;
  if (exists(`${dir}/usr/bin/lxc-start`)) return dir;
  if (!options.build) {
    throw new Error(
      `Cannot find the cached LXC 6 root ${dir}: build it first with \`deno run -A tests/_helpers/lxc6_root.ts\` (scripts/test.sh does)`,
    );
  }
  // The host is bookworm: its sources name no trixie, but the same Debian mirror serves every suite.
  const mirror = aptMirror(LXC6_SUITE) ?? aptMirror("bookworm");
  const tar = await debianRootfsTar({
    suite: LXC6_SUITE,
    include: LXC6_PACKAGES,
    cacheDir,
    build: true,
    ...(mirror ? { mirror } : {}),
  });
  const tmp = `${cacheDir}/.tmp-${crypto.randomUUID()}`;
  try {
    Deno.mkdirSync(`${tmp}/root`, { recursive: true });
    await run(["tar", "--numeric-owner", "--xattrs", "-xpf", tar, "-C", `${tmp}/root`]);
    Deno.renameSync(`${tmp}/root`, dir);
  } catch (err) {
    // Another run may have put the same tree in place first.
    if (!exists(`${dir}/usr/bin/lxc-start`)) throw err;
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
  return dir;
}

if (import.meta.main) {
  console.log(await lxc6Root({ build: true }));
}

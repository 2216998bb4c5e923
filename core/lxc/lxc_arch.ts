/**
 * The `lxc.arch` value for an image platform. LXC only uses it to pick the process personality (32-bit or 64-bit), and
 * 5.0.2 accepts these names: 32-bit `armel armhf armv7l athlon i386 i486 i586 i686 linux32 mips mipsel powerpc`, 64-bit
 * `aarch64 amd64 arm64 linux64 mips64 mips64el ppc64 ppc64el ppc64le powerpc64 riscv64 s390x x86_64` (`loong64` and
 * `386` are refused). We write the Debian names, as Proxmox does.
 *
 * @module
 */
import type { Platform } from "../image/platform.ts";

const BY_OCI_ARCH: Readonly<Record<string, string>> = {
  amd64: "amd64",
  arm64: "arm64",
  "386": "i386",
  ppc64le: "ppc64el",
  ppc64: "ppc64",
  s390x: "s390x",
  riscv64: "riscv64",
  mips64le: "mips64el",
  mips64: "mips64",
  mipsle: "mipsel",
  mips: "mips",
};

/**
 * The LXC arch name for `platform`, or `undefined` when LXC 5.0.2 has no name for it (the caller then leaves `lxc.arch`
 * out: LXC uses the host's).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lxcArchFor } from "./lxc_arch.ts";
 * assert.equal(lxcArchFor({ os: "linux", architecture: "arm", variant: "v7" }), "armhf");
 * assert.equal(lxcArchFor({ os: "linux", architecture: "amd64" }), "amd64");
 * ```
 */
export function lxcArchFor(platform: Platform): string | undefined {
  if (platform.architecture === "arm") {
    // Debian's armhf is ARMv7 with hard float; v5 and v6 images are armel.
    return platform.variant === "v5" || platform.variant === "v6" ? "armel" : "armhf";
  }
  return BY_OCI_ARCH[platform.architecture];
}

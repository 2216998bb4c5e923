/**
 * OCI platforms: parsing `os/arch[/variant]`, the host default, and matching with the variant rules Docker and
 * containerd use (arm64 → v8; arm → v7).
 *
 * @module
 */
import { Oci2LxcError } from "../errors.ts";

/** An OCI platform as index entries and image configs describe it. */
export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string | undefined;
}

/** Render a platform as `os/arch[/variant]`. */
export function formatPlatform(p: Platform): string {
  return p.variant ? `${p.os}/${p.architecture}/${p.variant}` : `${p.os}/${p.architecture}`;
}

const ARCH_ALIASES: Record<string, string> = {
  x86_64: "amd64",
  x86: "386",
  i386: "386",
  aarch64: "arm64",
  armhf: "arm",
  armel: "arm",
  ppc64el: "ppc64le",
};

/**
 * Parse `os/arch[/variant]` (or just `arch`, meaning linux) as `--platform` takes it.
 */
export function parsePlatform(text: string): Platform {
  const parts = text.split("/");
  if (parts.length > 3 || parts.some((p) => p === "" || /[^A-Za-z0-9_.-]/.test(p))) {
    throw new Oci2LxcError("usage", `Cannot parse platform "${text}": expected os/arch[/variant], e.g. linux/arm64`);
  }
  const [a, b, c] = parts as [string, string?, string?];
  const os = b === undefined ? "linux" : a;
  const arch = b === undefined ? a : b;
  return { os, architecture: ARCH_ALIASES[arch] ?? arch, variant: c };
}

/** The platform of the machine we run on. */
export function hostPlatform(): Platform {
  const arch = ARCH_ALIASES[Deno.build.arch] ?? Deno.build.arch;
  return { os: Deno.build.os, architecture: arch, variant: arch === "arm64" ? "v8" : undefined };
}

/** The variant a platform means when it names none (arm64 is v8, arm is v7). */
function effectiveVariant(p: Platform): string | undefined {
  if (p.variant) return p.variant;
  if (p.architecture === "arm64") return "v8";
  if (p.architecture === "arm") return "v7";
  return undefined;
}

/**
 * Whether an image of platform `candidate` runs on `wanted`. A wanted platform without a variant accepts any variant;
 * arm v7 also runs v6 and v5.
 */
export function platformMatches(wanted: Platform, candidate: Platform): boolean {
  if (wanted.os !== candidate.os) return false;
  const arch = ARCH_ALIASES[candidate.architecture] ?? candidate.architecture;
  if (wanted.architecture !== arch) return false;
  if (!wanted.variant) return true;
  const want = effectiveVariant(wanted);
  const have = effectiveVariant({ ...candidate, architecture: arch });
  if (want === have) return true;
  if (arch === "arm" && want && have) return Number(have.slice(1)) < Number(want.slice(1));
  return false;
}

/** Rank candidates: exact variant first, then the highest compatible variant. */
export function platformScore(wanted: Platform, candidate: Platform): number {
  if (!platformMatches(wanted, candidate)) return -1;
  const want = effectiveVariant(wanted);
  const have = effectiveVariant(candidate);
  if (want === have) return 100;
  return have ? Number(have.slice(1)) || 1 : 50;
}

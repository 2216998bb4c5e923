/**
 * Builds small OCI layout directories for tests: layer tars made by GNU tar
 * from real directories, compressed by the real gzip/zstd tools, with every
 * digest computed honestly. Tests that need a broken image break a good one.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";

/** sha256 digest text of bytes. */
export function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** Run a command, feeding stdin; returns stdout; throws with stderr on failure. */
export async function run(cmd: string[], stdin?: Uint8Array, cwd?: string): Promise<Uint8Array> {
  const child = new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
    ...(cwd ? { cwd } : {}),
  }).spawn();
  // Write stdin while output() drains stdout: a tool whose output fills the pipe would otherwise deadlock.
  const writing = stdin
    ? (async () => {
      const w = child.stdin.getWriter();
      await w.write(stdin);
      await w.close();
    })()
    : Promise.resolve();
  const [out] = await Promise.all([child.output(), writing]);
  if (!out.success) {
    throw new Error(`${cmd.join(" ")} failed (${out.code}): ${new TextDecoder().decode(out.stderr)}`);
  }
  return out.stdout;
}

/** A tar of `dir`'s contents (GNU tar, pax format, numeric owners, sorted). */
export function tarOf(dir: string): Promise<Uint8Array> {
  return run(["tar", "--format=pax", "--numeric-owner", "--sort=name", "--xattrs", "-C", dir, "-cf", "-", "."]);
}

/** Layer compressions the builder knows. */
export type LayerCompression = "gzip" | "zstd" | "none";

const LAYER_TYPES: Record<LayerCompression, string> = {
  gzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  zstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  none: "application/vnd.oci.image.layer.v1.tar",
};

/** One layer for {@linkcode writeOciDir}: its uncompressed tar and how to store it. */
export interface LayerInput {
  tar: Uint8Array;
  compression: LayerCompression;
  /** Pre-compressed bytes (e.g. multi-member gzip); made with the CLI tool when absent. */
  blob?: Uint8Array;
}

/** Compress with the real command-line tool. */
export function compress(bytes: Uint8Array, compression: LayerCompression): Promise<Uint8Array> {
  if (compression === "none") return Promise.resolve(bytes);
  return run(compression === "gzip" ? ["gzip", "-c", "-n"] : ["zstd", "-q", "-c"], bytes);
}

/** What {@linkcode writeOciDir} wrote. */
export interface BuiltImage {
  dir: string;
  manifestDigest: string;
  configDigest: string;
  layerDigests: string[];
  /** Path of each layer blob, to corrupt in tests. */
  layerPaths: string[];
  manifestPath: string;
  configPath: string;
}

/** Write an OCI layout directory with one image made of `layers`. */
export async function writeOciDir(
  dir: string,
  layers: LayerInput[],
  runtimeConfig: Record<string, unknown> = {},
  options: { architecture?: string; refName?: string } = {},
): Promise<BuiltImage> {
  await Deno.mkdir(join(dir, "blobs", "sha256"), { recursive: true });
  const put = async (bytes: Uint8Array) => {
    const digest = sha256(bytes);
    const path = join(dir, "blobs", "sha256", digest.slice(7));
    await Deno.writeFile(path, bytes);
    return { digest, path, size: bytes.length };
  };
  const layerDescriptors = [];
  const layerPaths = [];
  for (const layer of layers) {
    const blob = layer.blob ?? await compress(layer.tar, layer.compression);
    const stored = await put(blob);
    layerPaths.push(stored.path);
    layerDescriptors.push({ mediaType: LAYER_TYPES[layer.compression], digest: stored.digest, size: stored.size });
  }
  const config = {
    architecture: options.architecture ?? "amd64",
    os: "linux",
    config: runtimeConfig,
    rootfs: { type: "layers", diff_ids: layers.map((l) => sha256(l.tar)) },
    history: [],
  };
  const configBlob = await put(new TextEncoder().encode(JSON.stringify(config)));
  const manifest = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configBlob.digest, size: configBlob.size },
    layers: layerDescriptors,
  };
  const manifestBlob = await put(new TextEncoder().encode(JSON.stringify(manifest)));
  const index = {
    schemaVersion: 2,
    manifests: [{
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: manifestBlob.digest,
      size: manifestBlob.size,
      annotations: { "org.opencontainers.image.ref.name": options.refName ?? "latest" },
    }],
  };
  await Deno.writeTextFile(join(dir, "index.json"), JSON.stringify(index));
  await Deno.writeTextFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  return {
    dir,
    manifestDigest: manifestBlob.digest,
    configDigest: configBlob.digest,
    layerDigests: layerDescriptors.map((d) => d.digest),
    layerPaths,
    manifestPath: manifestBlob.path,
    configPath: configBlob.path,
  };
}

/** Make a temp dir and remove it after `fn`, whatever happens. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T> | T): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "oci2lxc-test-" });
  try {
    return await fn(dir);
  } finally {
    await run(["chattr", "-R", "-i", dir]).catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(async () => {
      await run(["chmod", "-R", "u+rwx", dir]).catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    });
  }
}

/** Flip one byte of a file at `offset` (from the end when negative). */
export async function flipByte(path: string, offset: number): Promise<void> {
  const bytes = await Deno.readFile(path);
  const at = offset < 0 ? bytes.length + offset : offset;
  bytes[at] = (bytes[at] ?? 0) ^ 0xff;
  await Deno.writeFile(path, bytes);
}

/** The fixtures folder. */
export const FIXTURES = new URL("../../fixtures/images/", import.meta.url).pathname;
/** Proxmox's test images. */
export const PROXMOX_FIXTURES = new URL("../../fixtures/proxmox-oci/", import.meta.url).pathname;

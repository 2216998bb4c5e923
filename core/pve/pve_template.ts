/**
 * A Proxmox VE container template (`NAME.tar.zst`) from a converted rootfs, for `pct create VMID
 * STORAGE:vztmpl/NAME.tar.zst`: the tar `rootfs_tar.ts` writes, compressed with zstd.
 *
 * The archive is written to `OUT.partial-PID` and renamed into place, so an interrupted run never leaves a truncated
 * template under the real name.
 *
 * @module
 */

import { describeError, Oci2LxcError } from "../errors.ts";
import { ZstdCompressor } from "../layer/zstd_compressor.ts";
import { type RootfsTarOptions, type RootfsTarResult, tarRootfs } from "./rootfs_tar.ts";

export { type RootfsTarResult, tarRootfs, type TemplateFile } from "./rootfs_tar.ts";

/** Options for {@linkcode writePveTemplate}: what goes in ({@linkcode RootfsTarOptions}) and how it is packed. */
export interface PveTemplateOptions extends RootfsTarOptions {
  /** zstd level; 3 by default. */
  level?: number | undefined;
  /** zstd worker threads; see `ZstdCompressorOptions.workers`. */
  workers?: number | undefined;
}

/** What {@linkcode writePveTemplate} wrote. */
export interface PveTemplateResult extends RootfsTarResult {
  /** Size of the `.tar.zst` file. */
  bytes: number;
}

/**
 * Write the rootfs at `rootfsDir` as a zstd-compressed pax tar at `outFile`.
 *
 * @throws {Oci2LxcError} `rootfs` when the tree cannot be read or an owner is outside the id map; `destination` when
 *   the file cannot be written
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writePveTemplate } from "./pve_template.ts";
 * const dir = Deno.makeTempDirSync();
 * Deno.mkdirSync(`${dir}/rootfs/etc`, { recursive: true });
 * Deno.writeTextFileSync(`${dir}/rootfs/etc/hostname`, "web\n");
 * const { members, bytes } = writePveTemplate(`${dir}/rootfs`, `${dir}/web.tar.zst`);
 * assert.equal(members, 3); // ./, ./etc/, ./etc/hostname
 * assert.equal(Deno.statSync(`${dir}/web.tar.zst`).size, bytes);
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function writePveTemplate(
  rootfsDir: string,
  outFile: string,
  options: PveTemplateOptions = {},
): PveTemplateResult {
  const partial = `${outFile}.partial-${Deno.pid}`;
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(partial, { write: true, createNew: true, mode: 0o644 });
  } catch (err) {
    throw new Oci2LxcError("destination", `Cannot write ${outFile}: ${describeError(err)}`, { cause: err });
  }
  let done = false;
  let zstd: ZstdCompressor | undefined;
  try {
    const name = outFile.slice(outFile.lastIndexOf("/") + 1);
    zstd = new ZstdCompressor((chunk) => writeAllSync(file, chunk, outFile), name, {
      ...(options.level !== undefined ? { level: options.level } : {}),
      ...(options.workers !== undefined ? { workers: options.workers } : {}),
    });
    const compressor = zstd;
    const result = tarRootfs(rootfsDir, (chunk) => compressor.push(chunk), options);
    compressor.finish();
    const bytes = compressor.bytesOut;
    file.close();
    Deno.renameSync(partial, outFile);
    done = true;
    return { ...result, bytes };
  } finally {
    if (!done) {
      zstd?.close();
      try {
        file.close();
      } catch {
        // already closed
      }
      try {
        Deno.removeSync(partial);
      } catch {
        // nothing to clean up
      }
    }
  }
}

function writeAllSync(file: Deno.FsFile, chunk: Uint8Array, what: string): void {
  let at = 0;
  try {
    while (at < chunk.length) at += file.writeSync(at === 0 ? chunk : chunk.subarray(at));
  } catch (err) {
    throw new Oci2LxcError("destination", `Cannot write ${what}: ${describeError(err)}`, { cause: err });
  }
}

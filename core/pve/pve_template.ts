/**
 * A Proxmox VE container template (`NAME.tar.zst`) from a converted rootfs, for `pct create VMID
 * STORAGE:vztmpl/NAME.tar.zst`: the tar `rootfs_tar.ts` writes, compressed with zstd.
 *
 * The archive is written to `OUT.partial-PID-START` and renamed into place, so an interrupted run never leaves a
 * truncated template under the real name; a file already at OUT is replaced only with `replace` (place_file.ts). The
 * owner tag (owner_tag.ts) lets the next run for OUT remove what a killed one left. The write is async with pauses for
 * the event loop (`tarRootfs`), so Ctrl-C stops it: the partial file is removed and no template appears. zstd
 * compresses as the tar streams through it.
 *
 * @module
 */

import { describeError, Oci2LxcError, throwIfInterrupted } from "../errors.ts";
import { ZstdCompressor } from "../layer/zstd_compressor.ts";
import { isOwnerAlive, ownerTag, startTimeOf } from "../rootfs/owner_tag.ts";
import { placeFile } from "./place_file.ts";
import { type RootfsTarOptions, type RootfsTarResult, tarRootfs } from "./rootfs_tar.ts";

export { type RootfsTarResult, tarRootfs, type TemplateFile } from "./rootfs_tar.ts";

/** Options for {@linkcode writePveTemplate}: what goes in ({@linkcode RootfsTarOptions}) and how it is packed. */
export interface PveTemplateOptions extends RootfsTarOptions {
  /** zstd level; 3 by default. */
  level?: number | undefined;
  /** zstd worker threads; see `ZstdCompressorOptions.workers`. */
  workers?: number | undefined;
  /** Replace a file already at `outFile` (`--force`); without it the write fails there and leaves that file alone. */
  replace?: boolean | undefined;
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
 *   the file cannot be written or is there already (without `options.replace`); `interrupted` when `options.signal`
 *   aborts (nothing is left at `outFile`)
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writePveTemplate } from "./pve_template.ts";
 * const dir = Deno.makeTempDirSync();
 * Deno.mkdirSync(`${dir}/rootfs/etc`, { recursive: true });
 * Deno.writeTextFileSync(`${dir}/rootfs/etc/hostname`, "web\n");
 * const { members, bytes } = await writePveTemplate(`${dir}/rootfs`, `${dir}/web.tar.zst`);
 * assert.equal(members, 3); // ./, ./etc/, ./etc/hostname
 * assert.equal(Deno.statSync(`${dir}/web.tar.zst`).size, bytes);
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export async function writePveTemplate(
  rootfsDir: string,
  outFile: string,
  options: PveTemplateOptions = {},
): Promise<PveTemplateResult> {
  removeStalePartials(outFile, options.onWarning);
  const partial = `${outFile}.partial-${ownerTag()}`;
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
    const result = await tarRootfs(rootfsDir, (chunk) => compressor.push(chunk), options);
    compressor.finish();
    const bytes = compressor.bytesOut;
    file.close();
    // The last pause may have seen nothing; a signal that came during the final compression still means no template.
    throwIfInterrupted(options.signal, `write ${outFile}`, "before it was complete");
    placeFile(partial, outFile, { replace: options.replace });
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

/**
 * Remove `OUT.partial-PID-START` files whose owner is gone (and `OUT.partial-PID` of older versions whose PID is), each
 * with a warning: a killed run's partial template can be as large as the template.
 */
function removeStalePartials(outFile: string, onWarning: ((message: string) => void) | undefined): void {
  const slash = outFile.lastIndexOf("/");
  const dir = slash <= 0 ? (slash === 0 ? "/" : ".") : outFile.slice(0, slash);
  const name = outFile.slice(slash + 1).replace(/[\\^$.*+?()[\]{}|]/g, "\\$&");
  const pattern = new RegExp(`^${name}\\.partial-(\\d+)(?:-(\\d+))?$`);
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch {
    return; // the open below says what is wrong with the directory
  }
  for (const entry of entries) {
    const m = pattern.exec(entry.name);
    if (m === null || !entry.isFile) continue;
    const pid = Number(m[1]);
    const alive = m[2] === undefined ? startTimeOf(pid) !== undefined : isOwnerAlive(pid, Number(m[2]));
    if (alive) continue;
    const path = `${dir === "/" ? "" : dir}/${entry.name}`;
    try {
      Deno.removeSync(path);
      onWarning?.(`removed ${path}, a partial template left by an earlier run (PID ${pid}) that no longer runs`);
    } catch (err) {
      onWarning?.(`cannot remove ${path}, left by an earlier run (PID ${pid}): ${describeError(err)}`);
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

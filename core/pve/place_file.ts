/**
 * Putting a finished file of the Proxmox VE output (written beside as `PATH.partial-…`) at its name. Without `replace`
 * the file must not be there: the output directory is the user's, and a hand-edited `120.conf` or another image's
 * template of the same name may be in it. The conversion checks that before any work (pve_dest_files.ts); the
 * placement itself does not replace either, so a file another program made meanwhile is kept and the run fails.
 *
 * @module
 */

import { describeError, Oci2LxcError } from "../errors.ts";
import { AT_FDCWD, Errno, LibcError, linkat, RENAME_NOREPLACE, renameat2, unlinkat } from "../native/libc.ts";

/** Options for {@linkcode placeFile}. */
export interface PlaceFileOptions {
  /** Replace a file already at the name (`--force`). */
  replace?: boolean | undefined;
  /** Skip `renameat2` and link instead, as on a filesystem that knows no rename flags (tests take this way). */
  withoutRenameFlags?: boolean | undefined;
}

const encoder = new TextEncoder();

/**
 * Move the finished file `partial` to `path` (both in one directory). Without `replace` nothing at `path` is replaced:
 * `renameat2(RENAME_NOREPLACE)`, or where the filesystem cannot (NFS, some FUSE file systems) a hard link, which fails
 * just the same for an existing name, and the partial name removed. On failure `partial` is left for the caller.
 *
 * @throws {Oci2LxcError} code "destination": `path` exists (without `replace`), or the move failed
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { placeFile } from "./place_file.ts";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(`${dir}/120.conf`, "mine\n");
 * Deno.writeTextFileSync(`${dir}/120.conf.partial`, "new\n");
 * assert.throws(() => placeFile(`${dir}/120.conf.partial`, `${dir}/120.conf`), /it already exists/);
 * assert.equal(Deno.readTextFileSync(`${dir}/120.conf`), "mine\n");
 * placeFile(`${dir}/120.conf.partial`, `${dir}/120.conf`, { replace: true });
 * assert.equal(Deno.readTextFileSync(`${dir}/120.conf`), "new\n");
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function placeFile(partial: string, path: string, options: PlaceFileOptions = {}): void {
  try {
    if (options.replace) {
      Deno.renameSync(partial, path);
      return;
    }
    const from = encoder.encode(partial);
    const to = encoder.encode(path);
    const r = options.withoutRenameFlags ? -Errno.EINVAL : renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);
    if (r === 0) return;
    if (r === -Errno.EEXIST) throw appeared(path);
    if (r !== -Errno.EINVAL && r !== -Errno.ENOSYS && r !== -Errno.EOPNOTSUPP) throw new LibcError("renameat2", -r);
    const l = linkat(AT_FDCWD, from, AT_FDCWD, to, 0);
    if (l === -Errno.EEXIST) throw appeared(path);
    if (l < 0) throw new LibcError("linkat", -l);
    // The file is in place; a partial name that cannot be removed is only a second name of it.
    unlinkat(AT_FDCWD, from, 0);
  } catch (err) {
    if (err instanceof Oci2LxcError) throw err;
    throw new Oci2LxcError("destination", `Cannot write ${path}: ${describeError(err)}`, { cause: err });
  }
}

function appeared(path: string): Oci2LxcError {
  return new Oci2LxcError("destination", `Cannot write ${path}: it already exists`, {
    hint: "Pass --force to replace it, or move it away and convert again (a conversion checks this before it begins, " +
      "so another program wrote it meanwhile)",
  });
}

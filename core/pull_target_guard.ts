/**
 * What an existing `oci-archive:FILE` may be before `pull` renames its new tar over it. The rename replaces whatever
 * FILE is, so, as `convert`'s `--force` for DEST (core/rootfs/dest_guard.ts): an existing FILE needs `--force`, and
 * `--force` alone replaces only an OCI archive (a tar with `index.json` and `oci-layout`, what a pull or `skopeo copy`
 * makes); anything else, or a symlink, needs `--replace-any` too; a device node, FIFO or socket is never replaced.
 * (`oci:DIR` needs no flag: an existing layout gets the image beside its others, and a directory that is neither empty
 * nor a layout is refused by the layout writer.)
 *
 * @module
 */
import { Oci2LxcError, quoteForMessage } from "./errors.ts";
import { TarIndex } from "./image/tar_index.ts";

/** Which replacements the user allowed. */
export interface PullReplaceOptions {
  /** `--force`: an existing OCI archive at FILE may be replaced. */
  force?: boolean | undefined;
  /** `--replace-any`: with force, also a FILE that is no OCI archive, or a symlink (the link itself is replaced). */
  replaceAny?: boolean | undefined;
}

/** Whether `path` is a tar whose members include an OCI layout's `oci-layout` and `index.json`. */
function isOciArchive(path: string): boolean {
  try {
    const index = TarIndex.open(path);
    return index.get("oci-layout") !== undefined && index.get("index.json") !== undefined;
  } catch {
    return false; // no tar (or a compressed one): not what a pull wrote
  }
}

/**
 * Refuse to write `oci-archive:FILE` over an existing `path` the options do not allow replacing. Called before the
 * pull starts and again just before its rename, so a file that appeared meanwhile is not lost either.
 *
 * @throws {Oci2LxcError} code "usage" for `replaceAny` without `force`; "destination" for a FILE that may not be
 *   replaced
 */
export function checkArchiveTarget(path: string, options: PullReplaceOptions): void {
  if (options.replaceAny && !options.force) {
    throw new Oci2LxcError("usage", "Cannot use --replace-any without --force: it only widens what --force replaces");
  }
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return;
    throw new Oci2LxcError("destination", `Cannot write ${quoteForMessage(path)}: ${(err as Error).message}`, {
      cause: err,
      hint: "Check that the target's directory exists and is readable",
    });
  }
  const shown = quoteForMessage(path);
  if (!options.force) {
    throw new Oci2LxcError("destination", `Cannot write ${shown}: it already exists`, {
      hint: "Use --force to replace it (only once the new archive is complete), or name another FILE",
    });
  }
  const special = info.isCharDevice
    ? "a character device"
    : info.isBlockDevice
    ? "a block device"
    : info.isFifo
    ? "a FIFO"
    : info.isSocket
    ? "a socket"
    : info.isDirectory
    ? "a directory"
    : undefined;
  if (special !== undefined) {
    throw new Oci2LxcError("destination", `Cannot replace ${shown}: it is ${special}, not an OCI archive`, {
      hint: "Name a file of its own for oci-archive:FILE; --force never replaces this one",
    });
  }
  if (options.replaceAny) return;
  if (info.isSymlink) {
    throw new Oci2LxcError("destination", `Cannot replace ${shown}: it is a symbolic link, not an OCI archive`, {
      hint:
        "With --force the link itself is replaced, not what it leads to: name the file it leads to to replace that, " +
        "or add --replace-any to replace the link with the new archive",
    });
  }
  if (!info.isFile || !isOciArchive(path)) {
    throw new Oci2LxcError(
      "destination",
      `Cannot replace ${shown}: it is not an OCI archive (no tar with index.json and oci-layout)`,
      { hint: "Check FILE; if it really is to be replaced, add --replace-any to --force" },
    );
  }
}

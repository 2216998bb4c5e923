/**
 * The files a `--format pve` conversion writes into the directory DEST, and the check, before any work, that none of
 * them is there already. DEST is written into, not replaced, so it may hold what the user keeps: a hand-edited
 * `120.conf`, another image's template of the same name, the output of an earlier run. Such a file is replaced only
 * with `--force` (or by `oci2lxc update`, whose new template takes the place of its own old one); the placement of
 * each file refuses just the same should one appear meanwhile (core/pve/place_file.ts).
 *
 * @module
 */
import { join } from "node:path";
import { Oci2LxcError } from "../errors.ts";
import type { PveReplace } from "../pve/pve_output.ts";
import { INIT_USER_KEYS, pveContainerAtLeast, type PveTarget } from "../pve/pve_target.ts";
import { pveProvenanceFile } from "../update/provenance.ts";

/** One file of the output, and what it is to the user (the flag that names it). */
export interface PveDestFile {
  /** Its path in DEST. */
  readonly path: string;
  /** `template` is named by `--name`; the others by `--vmid`. */
  readonly kind: "template" | "conf" | "include" | "record";
}

/**
 * The files a conversion for `vmid` and `target` may write into `dest`, in the order they are written: `NAME.tar.zst`,
 * `VMID.conf`, `VMID.oci2lxc.conf` (only for a target that may need it: before pve-container 6.1.0, or before 9.1, an
 * image's user or working directory goes there; core/pve/pve_conf.ts) and the record `VMID.oci2lxc.json`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pveDestFiles } from "./pve_dest_files.ts";
 * import { parsePveTarget } from "../pve/pve_target.ts";
 * const files = pveDestFiles("/out", { name: "web", vmid: 120, target: parsePveTarget("pve-container/6.1.0") });
 * assert.deepEqual(files.map((f) => f.path), ["/out/web.tar.zst", "/out/120.conf", "/out/120.oci2lxc.json"]);
 * ```
 */
export function pveDestFiles(
  dest: string,
  output: { name: string; vmid: number; target: PveTarget },
): PveDestFile[] {
  const { name, vmid, target } = output;
  const files: PveDestFile[] = [
    { path: join(dest, `${name}.tar.zst`), kind: "template" },
    { path: join(dest, `${vmid}.conf`), kind: "conf" },
  ];
  // As renderPveConfig decides: 9.1 takes the working directory as a raw key, and the user from pve-container 6.1.0.
  const rawInitKeys = target.version === "9.1" && pveContainerAtLeast(target.pveContainer, INIT_USER_KEYS);
  if (!rawInitKeys) files.push({ path: join(dest, `${vmid}.oci2lxc.conf`), kind: "include" });
  files.push({ path: join(dest, pveProvenanceFile(vmid)), kind: "record" });
  return files;
}

/**
 * Refuse, before any work, a file of `files` that is already there and may not be replaced (`replace`): one error that
 * names the first and counts the others. Also with `--force`, a directory at one of the names is refused (a file
 * cannot replace it). A symlink counts as there: the rename would replace the link.
 *
 * @throws {Oci2LxcError} code "destination"
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { guardPveDestFiles } from "./pve_dest_files.ts";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(`${dir}/120.conf`, "mine\n");
 * const files = [{ path: `${dir}/web.tar.zst`, kind: "template" }, { path: `${dir}/120.conf`, kind: "conf" }] as const;
 * assert.throws(() => guardPveDestFiles(files, "none"), /120\.conf: it already exists/);
 * guardPveDestFiles(files, "all");
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function guardPveDestFiles(files: readonly PveDestFile[], replace: PveReplace): void {
  const there: PveDestFile[] = [];
  for (const file of files) {
    const info = lstatOrUndefined(file.path);
    if (info === undefined) continue;
    const replaceable = replace === "all" || (replace === "template" && file.kind === "template");
    if (!replaceable) {
      there.push(file);
    } else if (info.isDirectory) {
      throw new Oci2LxcError("destination", `Cannot replace ${file.path}: it is a directory`, {
        hint: `Move it away, or pass another ${flagOf(file)} or DEST`,
      });
    }
  }
  const [first, ...others] = there;
  if (first === undefined) return;
  const more = others.length === 0
    ? ""
    : ` (and ${others.length} more of the files this conversion writes: ${others.map((f) => baseName(f)).join(", ")})`;
  const flags = [...new Set(there.map(flagOf))].join(" and ");
  throw new Oci2LxcError("destination", `Cannot write ${first.path}: it already exists${more}`, {
    hint: `Pass --force to replace ${others.length === 0 ? "it" : "them"}, or another ${flags}, or another DEST`,
  });
}

function flagOf(file: PveDestFile): string {
  return file.kind === "template" ? "--name" : "--vmid";
}

function baseName(file: PveDestFile): string {
  return file.path.slice(file.path.lastIndexOf("/") + 1);
}

function lstatOrUndefined(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.lstatSync(path);
  } catch {
    return undefined;
  }
}

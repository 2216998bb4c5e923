/**
 * `context.files`: the files plugins put beside the rootfs (DEST/network/resolv.conf…). A `Map` whose `set` checks
 * the name at once, so a bad name fails inside the plugin's hook and the error names the plugin; writing them is the
 * output writer's business at the commit.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { Oci2LxcError } from "../errors.ts";
import type { BesideFile } from "./output_writer.ts";

/** Files beside an LXC container's rootfs: relative paths, not the container's own `rootfs` and `config`. */
export class BesideFiles extends Map<string, BesideFile> {
  override set(relative: string, file: BesideFile): this {
    checkBesideName(relative);
    return super.set(relative, file);
  }

  /** Write every file into the staged container directory (our own directory: no image symlinks to follow). */
  writeInto(stagingDir: string): void {
    for (const [relative, file] of this) {
      const path = join(stagingDir, relative);
      Deno.mkdirSync(dirname(path), { recursive: true });
      Deno.writeTextFileSync(path, file.data, { mode: file.mode });
      Deno.chmodSync(path, file.mode);
    }
  }
}

/** Throw unless `relative` may name a file beside the rootfs. */
export function checkBesideName(relative: string): void {
  if (relative.startsWith("/") || relative.split("/").some((p) => p === ".." || p === "" || p === ".")) {
    throw new Oci2LxcError("plugin", `Cannot write ${relative} beside the rootfs: use a relative path without ".."`);
  }
  if (relative === "rootfs" || relative.startsWith("rootfs/") || relative === "config") {
    throw new Oci2LxcError("plugin", `Cannot write ${relative} beside the rootfs: that name is the container's own`);
  }
}

/**
 * Files beside a Proxmox VE template: none. A template is only the rootfs, and `pct create` unpacks it on the
 * Proxmox VE host, where a file beside it would have to be copied by hand to every node and a conf line point at a
 * host path we cannot know. Refusing at `set` names the plugin; such a plugin can skip it when
 * `context.format === "pve"`, or write into the rootfs instead.
 */
export class NoBesideFiles extends Map<string, BesideFile> {
  override set(relative: string, _file: BesideFile): this {
    throw new Oci2LxcError(
      "plugin",
      `Cannot write ${relative} beside the rootfs with --format pve: a Proxmox VE template holds only the rootfs`,
      { hint: 'Skip such files when context.format is "pve", or write them into the rootfs (context.rootfs)' },
    );
  }
}

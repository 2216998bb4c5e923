/**
 * Bind-mount targets in the rootfs. LXC refuses to start a container when the target of a file bind mount is a symlink
 * ("was a symbolic link!"), and images often ship /etc/resolv.conf as one. The target is replaced by an empty regular
 * file through the confined root; the mount covers it anyway.
 *
 * @module
 */
import type { ConversionContext } from "../core/conversion.ts";

/** Make `path` in the rootfs a regular file (or missing, which `create=file` handles). */
export function ensureFileMountTarget(context: ConversionContext, path: string): void {
  const kind = context.rootfs.lkind(path);
  if (kind === undefined || kind === "file") return;
  if (kind === "directory") {
    context.warn(`${path} is a directory in the image: the generated file cannot be bind-mounted over it`);
    return;
  }
  context.rootfs.writeFile(path, "");
  context.warn(`replaced the ${kind} at ${path} with an empty file: LXC bind-mounts the generated one there`);
}

/**
 * Closing the descriptors a hook inherited without close-on-exec. LXC hands its hooks some of its sockets; the DHCP
 * clients the hook starts live as long as the container, and must not hold them. Deno opens all of its own descriptors
 * with O_CLOEXEC, so those are left alone.
 *
 * @module
 */
import { close, O_CLOEXEC } from "../native/libc.ts";

/** Close every descriptor above 2 that lacks close-on-exec; returns the ones closed. */
export function closeInheritedFds(): number[] {
  const closed: number[] = [];
  for (const entry of Deno.readDirSync("/proc/self/fdinfo")) {
    const fd = Number(entry.name);
    if (!Number.isInteger(fd) || fd <= 2) continue;
    let flags: number;
    try {
      const m = /^flags:\s*([0-7]+)$/m.exec(Deno.readTextFileSync(`/proc/self/fdinfo/${fd}`));
      if (!m) continue;
      flags = parseInt(m[1]!, 8);
    } catch {
      continue; // the directory's own descriptor, already closed
    }
    if ((flags & O_CLOEXEC) === 0 && close(fd) === 0) closed.push(fd);
  }
  return closed;
}

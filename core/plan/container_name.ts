/**
 * The container's name (`lxc-start -n`) and hostname (`lxc.uts.name`). The name is checked, not changed: it names the
 * container directory the caller asked for. The hostname defaults to the name; a name that is not a valid hostname is
 * made into one (with a warning), while a `--hostname` that is not valid is refused.
 *
 * @module
 */
import { Oci2LxcError } from "../errors.ts";

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const HOST_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** Whether `text` is one hostname label (RFC 1123: letters, digits and inner `-`, up to 63). */
export function isHostLabel(text: string): boolean {
  return HOST_LABEL.test(text);
}

function isHostname(text: string): boolean {
  return text.length <= 64 && text.split(".").every(isHostLabel);
}

function hostnameFrom(name: string): string {
  const dashed = name.replace(/[^A-Za-z0-9-]+/g, "-").replace(/^-+|-+$/g, "");
  const h = dashed.slice(0, 63).replace(/-+$/, "");
  return h === "" ? "container" : h;
}

/**
 * Check the container `name` and decide the hostname: `hostname` when given, else the name made a valid hostname.
 *
 * @throws {Oci2LxcError} `usage` for a name or hostname LXC would not take
 */
export function planHostname(name: string, hostname: string | undefined, warn: (text: string) => void): string {
  if (!NAME.test(name)) {
    throw new Oci2LxcError(
      "usage",
      `Cannot use container name ${JSON.stringify(name)}: use letters, digits, "_", "." and "-", up to 64`,
    );
  }
  if (hostname !== undefined) {
    if (!isHostname(hostname)) {
      throw new Oci2LxcError("usage", `Cannot use hostname ${JSON.stringify(hostname)}: not a valid hostname`);
    }
    return hostname;
  }
  if (isHostname(name)) return name;
  const made = hostnameFrom(name);
  warn(`the name "${name}" is not a valid hostname; the hostname is "${made}"`);
  return made;
}

/**
 * DEST/network/dhcp.log: what the DHCP hook did and why a client failed. The hook runs under LXC, where nobody reads
 * its output after a background start, so the log is where the story is; problems go to stderr too, which LXC shows in
 * the foreground. Best effort: a log that cannot be written never stops the container.
 *
 * @module
 */

/** Past this size the log is moved to `dhcp.log.1` when the next hook opens it. */
const LOG_ROTATE_BYTES = 1 << 20;

/** Appends timestamped lines to DEST/network/dhcp.log (and mirrors problems to stderr). */
export class DhcpLog {
  /** The log file, DEST/network/dhcp.log. */
  readonly path: string;
  #encoder = new TextEncoder();

  /** Open the log at `path`, rotating it when it has grown too large. */
  constructor(path: string) {
    this.path = path;
    try {
      if (Deno.statSync(path).size > LOG_ROTATE_BYTES) Deno.renameSync(path, `${path}.1`);
    } catch { /* no log yet */ }
  }

  /** Append `text`; `toStderr` for problems the user should see at once. */
  line(text: string, toStderr = false): void {
    const stamp = new Date().toISOString();
    try {
      Deno.writeFileSync(this.path, this.#encoder.encode(`${stamp} oci2lxc: ${text}\n`), { append: true, mode: 0o644 });
    } catch { /* the log is best effort */ }
    if (toStderr) {
      try {
        Deno.stderr.writeSync(this.#encoder.encode(`oci2lxc dhcp: ${text}\n`));
      } catch { /* no stderr */ }
    }
  }
}

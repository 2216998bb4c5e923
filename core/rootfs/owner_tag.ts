/**
 * Names of the temporary things a run leaves beside DEST carry the owner's PID and the kernel's start time of that
 * process, so a later run can tell a leftover of a killed run (its owner is gone, or the PID now belongs to a process
 * that started at another time) from one that is still being written.
 *
 * @module
 */

/** `PID-STARTTIME` of this process, the part of a temporary name that says whose it is. */
export function ownerTag(): string {
  return `${Deno.pid}-${startTimeOf(Deno.pid) ?? 0}`;
}

/**
 * Whether the process that made a name tagged `pid`/`start` still runs: a process with that PID exists and started at
 * that time. A PID of another PID namespace cannot be seen from here and counts as gone.
 */
export function isOwnerAlive(pid: number, start: number): boolean {
  if (pid === Deno.pid) return start === startTimeOf(pid);
  const now = startTimeOf(pid);
  return now !== undefined && now === start;
}

/** Field 22 of /proc/PID/stat (start time in clock ticks since boot), or undefined when there is no such process. */
export function startTimeOf(pid: number): number | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces and ")": count from the last ")".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const start = Number(fields[19]);
  return Number.isSafeInteger(start) ? start : undefined;
}

/**
 * What the template walk found worth telling the user (sockets left out, devices pct cannot make, ACLs it cannot
 * restore, ids an unprivileged container cannot own): counted while walking and reported once at the end, one
 * sentence per kind with an example, so a tree with thousands of them gives four lines, not thousands.
 *
 * @module
 */

import { show } from "./member_name.ts";

/** The default unprivileged map of Proxmox and LXC covers container ids below this. */
export const UNPRIVILEGED_IDS = 65536;

/** A kind of finding. */
export type FindingKind = "socket" | "device" | "bad-acl" | "high-id";

/** Counts of findings reported once at the end, with an example each. */
interface Finding {
  count: number;
  example: string;
}

/** The findings of one walk. */
export class TemplateFindings {
  readonly #findings = new Map<FindingKind, Finding>();

  /** One more finding of `kind` at member `path`; `detail` goes beside the first one's name. */
  note(kind: FindingKind, path: Uint8Array, detail?: string): void {
    const f = this.#findings.get(kind);
    if (f) f.count++;
    else this.#findings.set(kind, { count: 1, example: detail ? `${show(path)} (${detail})` : show(path) });
  }

  /** Say each kind found, once, to `warn`. */
  report(warn: (message: string) => void): void {
    const say = (kind: FindingKind, text: (f: Finding, s: string) => string) => {
      const f = this.#findings.get(kind);
      if (f) warn(text(f, f.count === 1 ? "" : "s"));
    };
    say(
      "socket",
      (f, s) => `${f.count} socket${s} left out of the template (tar cannot hold sockets), e.g. ${f.example}`,
    );
    say(
      "device",
      (f, s) =>
        `${f.count} device node${s} outside /dev, e.g. ${f.example}: pct create fails on ${
          f.count === 1 ? "it" : "them"
        } for an unprivileged container (only ./dev/* is excluded)`,
    );
    say(
      "bad-acl",
      (f, s) =>
        `${f.count} POSIX ACL${s} the kernel did not give in version 2 form, e.g. ${f.example}: left out of the SCHILY.acl records, so pct create does not restore ${
          f.count === 1 ? "it" : "them"
        }`,
    );
    say(
      "high-id",
      (f, s) =>
        `${f.count} member${s} owned by ids of ${UNPRIVILEGED_IDS} or more, e.g. ${f.example}: an unprivileged container with the default id map cannot own ${
          f.count === 1 ? "it" : "them"
        }`,
    );
  }
}

/**
 * Resolving an image's `User` (`user`, `uid`, `user:group`, `uid:gid`, `uid:group`, `user:gid`) against the rootfs's
 * /etc/passwd and /etc/group, with the rules runc applies for Docker (libcontainer/user.GetExecUser):
 *
 * - the user part is looked up by name, or by uid when numeric; a name that is not found is an error, a uid that is not
 *   found is fine (gid 0, HOME /);
 * - without a group part, the gid is the passwd entry's and the supplementary groups are every /etc/group entry listing
 *   the user's name;
 * - with a group part, that group is the gid and there are no supplementary groups; a group name that is not found is
 *   an error.
 *
 * @module
 */
import { Oci2LxcError } from "../errors.ts";

/** One line of /etc/passwd. */
export interface PasswdEntry {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
}

/** One line of /etc/group. */
export interface GroupEntry {
  readonly name: string;
  readonly gid: number;
  readonly members: readonly string[];
}

/** The identity the container's process runs with. */
export interface ResolvedUser {
  readonly uid: number;
  readonly gid: number;
  /** Supplementary group ids, in /etc/group order, without duplicates. */
  readonly groups: readonly number[];
  /** The passwd name, when the uid has an entry. */
  readonly name: string | undefined;
  /** The passwd home directory, or `/` when there is none. */
  readonly home: string;
}

/** runc's limit: ids are in 0…2^31-1. */
const MAX_ID = 2147483647;

function parseId(text: string | undefined): number | undefined {
  if (text === undefined || !/^[0-9]{1,10}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= MAX_ID ? n : undefined;
}

function lines(text: string): string[][] {
  return text.split("\n").map((l) => l.replace(/\r$/, "")).filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => l.split(":"));
}

/** Parse /etc/passwd; lines that do not parse (NIS `+` lines, comments) are skipped. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const f of lines(text)) {
    const uid = parseId(f[2]);
    const gid = parseId(f[3]);
    if (f.length < 4 || !f[0] || uid === undefined || gid === undefined) {
      continue;
    }
    out.push({ name: f[0], uid, gid, home: f[5] ?? "" });
  }
  return out;
}

/** Parse /etc/group; lines that do not parse are skipped. */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const f of lines(text)) {
    const gid = parseId(f[2]);
    if (f.length < 3 || !f[0] || gid === undefined) continue;
    const members = (f[3] ?? "").split(",").map((m) => m.trim()).filter((m) => m !== "");
    out.push({ name: f[0], gid, members });
  }
  return out;
}

/** Options for {@linkcode resolveUser}. */
export interface ResolveUserOptions {
  /** Entries of /etc/passwd, or `undefined` when the rootfs has none. */
  passwd: readonly PasswdEntry[] | undefined;
  /** Entries of /etc/group, or `undefined` when the rootfs has none. */
  group: readonly GroupEntry[] | undefined;
  /** Names the source for messages, e.g. `User of the image config` or `--user`. */
  what: string;
  /** Error code for a bad spec: `config` for the image, `usage` for options. */
  code?: "config" | "usage";
}

/**
 * Resolve a `User` value. An empty spec means root.
 *
 * @example A name with supplementary groups
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseGroup, parsePasswd, resolveUser } from "./resolve_user.ts";
 * const passwd = parsePasswd("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n");
 * const group = parseGroup("app:x:1000:\nwww:x:33:app\n");
 * const u = resolveUser("app", { passwd, group, what: "User" });
 * assert(u.uid === 1000 && u.gid === 1000 && u.groups[0] === 33 && u.home === "/home/app");
 * ```
 */
export function resolveUser(
  spec: string,
  options: ResolveUserOptions,
): ResolvedUser {
  const { passwd, group, what } = options;
  const code = options.code ?? "config";
  const parts = spec === "" ? [""] : spec.split(":");
  const [userPart, groupPart] = parts as [string, string?];
  if (
    parts.length > 2 || (spec !== "" && userPart === "") || groupPart === ""
  ) {
    throw new Oci2LxcError(
      code,
      `Cannot use ${what} "${spec}": expected user, uid, user:group or uid:gid`,
      {
        hint: "Use a name or number for the user, optionally followed by :group",
      },
    );
  }

  let uid = parseId(userPart);
  let entry: PasswdEntry | undefined;
  if (userPart === "") {
    uid = 0;
    entry = passwd?.find((e) => e.uid === 0);
  } else if (uid !== undefined) {
    entry = passwd?.find((e) => e.uid === uid);
  } else if (/^[0-9]+$/.test(userPart)) {
    throw new Oci2LxcError(
      code,
      `Cannot use ${what} "${spec}": uid ${userPart} is out of range (0-${MAX_ID})`,
    );
  } else {
    entry = passwd?.find((e) => e.name === userPart);
    if (!entry) {
      const where = passwd ? "/etc/passwd of the rootfs has no such user" : "the rootfs has no /etc/passwd";
      throw new Oci2LxcError(code, `Cannot use ${what} "${spec}": ${where}`, {
        hint: "Pass --user with a numeric uid[:gid], or a name from the image's /etc/passwd",
      });
    }
    uid = entry.uid;
  }

  let gid = entry?.gid ?? 0;
  const groups: number[] = [];
  if (groupPart !== undefined) {
    const numeric = parseId(groupPart);
    if (numeric !== undefined) {
      gid = numeric;
    } else if (/^[0-9]+$/.test(groupPart)) {
      throw new Oci2LxcError(
        code,
        `Cannot use ${what} "${spec}": gid ${groupPart} is out of range (0-${MAX_ID})`,
      );
    } else {
      const g = group?.find((e) => e.name === groupPart);
      if (!g) {
        const where = group ? "/etc/group of the rootfs has no such group" : "the rootfs has no /etc/group";
        throw new Oci2LxcError(code, `Cannot use ${what} "${spec}": ${where}`, {
          hint: "Pass --user with a numeric gid, or a group name from the image's /etc/group",
        });
      }
      gid = g.gid;
    }
  } else if (entry && group) {
    const seen = new Set<number>();
    for (const g of group) {
      if (g.members.includes(entry.name) && !seen.has(g.gid)) {
        seen.add(g.gid);
        groups.push(g.gid);
      }
    }
  }
  return {
    uid: uid!,
    gid,
    groups,
    name: entry?.name,
    home: entry?.home || "/",
  };
}

/**
 * The identity the container's first process runs as: the image's `User` (or `--user`), resolved against the rootfs's
 * /etc/passwd and /etc/group as runc does. An unknown name is an error (the OCI spec says so; Proxmox silently runs
 * such images as root), and so is an id that an unprivileged container's id map cannot hold.
 *
 * @module
 */
import { Oci2LxcError } from "../errors.ts";
import { describeRanges, type IdMap, mapId } from "../rootfs/id_map.ts";
import { checkConfigValue } from "../lxc/config_value.ts";
import type { PlanField, PlanUser } from "./container_plan.ts";
import { fieldFate } from "./field_fate.ts";
import { parseGroup, parsePasswd, resolveUser } from "./resolve_user.ts";
import type { RootfsReader } from "./rootfs_reader.ts";
import { isString, optionalField, type RuntimeConfig, valueSource } from "./runtime_config.ts";

/**
 * Plan the user from the image's `User`, replaced by `optionUser` when given, and check it against `idmap`.
 *
 * @throws {Oci2LxcError} `config` (or `usage` for `--user`) when the user cannot be resolved or mapped
 */
export function planUser(
  rc: RuntimeConfig,
  optionUser: string | undefined,
  idmap: IdMap | undefined,
  rootfs: RootfsReader,
): { user: PlanUser; field: PlanField } {
  const imageUser = optionalField(rc, "User", isString, "a string");
  const spec = optionUser ?? imageUser ?? "";
  const { what, code } = valueSource(optionUser !== undefined, "--user", "User");
  checkConfigValue(spec, what, code);
  const user: PlanUser = resolveUser(spec, {
    passwd: mapText(rootfs.readFile("/etc/passwd"), parsePasswd),
    group: mapText(rootfs.readFile("/etc/group"), parseGroup),
    what,
    code,
  });
  if (idmap) checkMapped(user, idmap, spec, what);
  const field = fieldFate("User", "lxc.init.uid", {
    overridden: optionUser !== undefined ? "replaced by --user" : undefined,
    imageSet: Boolean(imageUser),
    defaulted: "not set: root",
  });
  return { user, field };
}

function mapText<T>(bytes: Uint8Array | undefined, parse: (text: string) => T): T | undefined {
  return bytes === undefined ? undefined : parse(new TextDecoder().decode(bytes));
}

function checkMapped(user: PlanUser, idmap: IdMap, spec: string, what: string): void {
  const outside = (kind: string, id: number, ranges: IdMap["uid"]) =>
    new Oci2LxcError(
      "config",
      `Cannot use ${what} "${spec}": ${kind} ${id} is outside the container's ID map (${describeRanges(ranges)})`,
      { hint: "Widen the ID map or choose another user with --user" },
    );
  if (mapId(idmap.uid, user.uid) === undefined) throw outside("uid", user.uid, idmap.uid);
  for (const gid of [user.gid, ...user.groups]) {
    if (mapId(idmap.gid, gid) === undefined) throw outside("gid", gid, idmap.gid);
  }
}

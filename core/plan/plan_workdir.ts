/**
 * The working directory (`lxc.init.cwd`): the image's WorkingDir or `--workdir`, `/` when neither is set. It must be
 * absolute (Docker refuses relative ones too) and is cleaned lexically; a missing one is created, because LXC 5.0.2
 * refuses to start with a missing `lxc.init.cwd`.
 *
 * @module
 */
import { Oci2LxcError } from "../errors.ts";
import { checkConfigValue } from "../lxc/config_value.ts";
import { cleanAbsolutePath } from "./clean_absolute_path.ts";
import type { PlanDirectory, PlanField } from "./container_plan.ts";
import { fieldFate } from "./field_fate.ts";
import type { RootfsReader } from "./rootfs_reader.ts";
import { isString, optionalField, type RuntimeConfig, valueSource } from "./runtime_config.ts";

/**
 * Plan the working directory; `directory` is set when the rootfs lacks it.
 *
 * @throws {Oci2LxcError} `config` (or `usage` for `--workdir`) for a relative path or one that is not a directory
 */
export function planWorkdir(
  rc: RuntimeConfig,
  optionWorkdir: string | undefined,
  rootfs: RootfsReader,
): { cwd: string; directory: PlanDirectory | undefined; field: PlanField } {
  const imageWorkdir = optionalField(rc, "WorkingDir", isString, "a string");
  const text = optionWorkdir ?? (imageWorkdir || "/");
  const { what, code } = valueSource(optionWorkdir !== undefined, "--workdir", "WorkingDir");
  checkConfigValue(text, what, code);
  const cwd = cleanAbsolutePath(text);
  if (cwd === undefined) {
    throw new Oci2LxcError(code, `Cannot use ${what} ${JSON.stringify(text)}: it is not an absolute path`, {
      hint: "Give an absolute working directory with --workdir",
    });
  }
  let directory: PlanDirectory | undefined;
  if (!rootfs.exists(cwd)) {
    directory = { path: cwd, uid: 0, gid: 0, mode: 0o755, reason: "WorkingDir" };
  } else if (rootfs.isDirEmpty(cwd) === undefined) {
    throw new Oci2LxcError(code, `Cannot use ${what} "${cwd}": it is not a directory in the rootfs`);
  }
  const field = fieldFate("WorkingDir", "lxc.init.cwd", {
    overridden: optionWorkdir !== undefined ? "replaced by --workdir" : undefined,
    imageSet: Boolean(imageWorkdir),
    defaulted: "not set: /",
  });
  return { cwd, directory, field };
}

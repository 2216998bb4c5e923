/**
 * `oci2lxc rollback DEST`: the kept generation (`DIR/.NAME.oci2lxc-previous`) and DEST change places in one swap;
 * the volume data moves with the container, into the generation that becomes DEST. What was DEST is kept as the
 * previous generation, so a second rollback goes forward again.
 *
 * @module
 */
import { resolve } from "node:path";
import { Oci2LxcError } from "../errors.ts";
import { isRunning, refuseRunning, startContainer, stopContainer } from "./container_state.ts";
import { previousPath, swapGeneration } from "./generation_swap.ts";
import { readProvenance } from "./provenance.ts";
import { withRecoveredDest } from "./update_container.ts";
import { generationReport, type UpdateReport } from "./update_report.ts";
import { planVolumeMoves } from "./volume_moves.ts";

/** Options of {@linkcode rollbackContainer}. */
export interface RollbackOptions {
  restart?: boolean | undefined;
  wait?: boolean | undefined;
  signal?: AbortSignal | undefined;
  onWarning?: ((message: string) => void) | undefined;
}

/**
 * Swap DEST with its previous generation.
 *
 * @throws {Oci2LxcError} code "destination" when there is no previous generation, or the container runs without
 *   `restart`
 */
export async function rollbackContainer(dest: string, options: RollbackOptions = {}): Promise<UpdateReport> {
  const absDest = resolve(dest);
  const previous = previousPath(absDest);
  const warnings: string[] = [];
  const warn = (message: string) => {
    warnings.push(message);
    options.onWarning?.(message);
  };
  return await withRecoveredDest(absDest, options, warn, async () => {
    const current = readProvenance(absDest);
    let before;
    try {
      before = readProvenance(previous, previous);
    } catch (err) {
      throw new Oci2LxcError("destination", `Cannot roll ${absDest} back: there is no previous generation`, {
        cause: err,
        hint: `${previous} holds the generation an 'oci2lxc update' replaced (unless it ran with --keep 0)`,
      });
    }
    const mustRestart = refuseRunning(absDest, "roll back", options.restart ?? false);
    if (mustRestart) stopContainer(absDest);
    try {
      const planned = planVolumeMoves(absDest, current.volumes, previous, before.volumes, warn);
      const swap = await swapGeneration(absDest, previous, planned.moves, "none");
      if (mustRestart) startContainer(absDest);
      for (const v of planned.aside) {
        warn(`the previous image does not declare the volume ${v}: its data is kept in ${absDest}/volumes-aside`);
      }
      return {
        ...generationReport("rollback", absDest, current, before, warnings),
        volumesCarried: planned.carried,
        volumesAside: planned.aside,
        previous,
        swap,
        restarted: mustRestart,
      } satisfies UpdateReport;
    } catch (err) {
      if (mustRestart && !isRunning(absDest)) startContainer(absDest);
      throw err;
    }
  });
}

/**
 * The names of a conversion's stages, in the order they run: the one set that the stage table
 * (`core/pipeline.ts`), progress events, the report's timings, the hooks (each runs in one stage), the docs and
 * `docs/report.schema.json` use. Adding a stage starts here; the type checker then asks for it everywhere a
 * stage needs words (the progress line) and the stage table refuses to run in any other order.
 *
 * @module
 */

/** The stages, in order. */
export const STAGE_NAMES = ["open", "assemble", "plan", "setup", "configure", "commit", "report"] as const;

/**
 * One stage:
 *
 * - `open`: resolve the reference, open the image, verify index, manifest and config;
 * - `assemble`: apply the layers into a staging directory, each verified in the same pass;
 * - `plan`: detect the distribution and plan the container (hooks `detectDistro`, `plan`);
 * - `setup`: make the plan's directories in the rootfs (hook `rootfs`);
 * - `configure`: render the output format's config (hook `config`);
 * - `commit`: the output writer writes the result (LXC: rename staging into DEST; Proxmox VE: template and conf);
 * - `report`: fill in the report (hook `report`).
 */
export type StageName = typeof STAGE_NAMES[number];

/**
 * oci2lxc command line entry point. Thin by design: everything happens in
 * cli/run_cli.ts, which calls the same library functions as mod.ts.
 *
 * @module
 */
import { runCli } from "./cli/run_cli.ts";
import { allowBundleAsLayerWorker } from "./core/layer/layer_worker_client.ts";
// Imported for its code, so that the bundle and the binary hold the layer
// worker: loaded as that worker, this program does nothing else.
import { isLayerWorker } from "./core/layer/layer_worker.ts";

if (import.meta.main && !isLayerWorker()) {
  allowBundleAsLayerWorker();
  Deno.exit(await runCli(Deno.args));
}

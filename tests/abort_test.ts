/**
 * Scripts stop a conversion or a verification with an AbortSignal: the
 * promise rejects with an "interrupted" Oci2LxcError and nothing is left.
 */
import { convert, Oci2LxcError, verify } from "../mod.ts";
import { assert, assertEquals } from "./_helpers/assert.ts";
import { FIXTURES, withTempDir } from "./_helpers/oci_builder.ts";

Deno.test("convert() with a signal aborted mid-layer rejects as interrupted and leaves neither DEST nor staging", async () => {
  await withTempDir(async (dir) => {
    const controller = new AbortController();
    let layerProgress = 0;
    const err = await convert(`oci-archive:${FIXTURES}busybox.oci.tar`, `${dir}/ct`, {
      allowApproximate: true,
      signal: controller.signal,
      onProgress: (p) => {
        // The first report of a layer comes before its bytes: abort then, so the stop lands mid-layer.
        if (p.stage === "assemble" && ++layerProgress === 1) controller.abort();
      },
    }).then(() => undefined, (e) => e);
    assert(err instanceof Oci2LxcError, `expected an Oci2LxcError, got ${err}`);
    assertEquals(err.code, "interrupted");
    assert(/^Cannot finish the conversion: interrupted in layer 1\/1 /.test(err.message), err.message);
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), []);
  });
});

Deno.test("verify() with an aborted signal rejects as interrupted instead of reporting a problem", async () => {
  const controller = new AbortController();
  controller.abort();
  const err = await verify(`oci-archive:${FIXTURES}busybox.oci.tar`, { signal: controller.signal }).then(
    () => undefined,
    (e) => e,
  );
  assert(err instanceof Oci2LxcError && err.code === "interrupted", `expected an interruption, got ${err}`);
  assert(/^Cannot finish the verification: interrupted in layer 1\/1 /.test(err.message), err.message);
});

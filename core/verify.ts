/**
 * Re-check every digest and size of an image and report every mismatch at once, like go-containerregistry's `validate`.
 *
 * @module
 */
import {
  describeError,
  DigestMismatchError,
  type ErrorCode,
  isInterruption,
  Oci2LxcError,
  throwIfInterrupted,
} from "./errors.ts";
import type { Image } from "./image/image.ts";
import { layerName, readLayer } from "./layer/read_layer.ts";
import { TarParser } from "./tar/tar_parser.ts";

/** One problem found by {@linkcode verifyImage}. */
export interface VerifyProblem {
  /** What was checked: "layer 2/3 (sha256:…)", "diff_id of layer 1/3 (…)". */
  what: string;
  expected?: string;
  actual?: string;
  message: string;
  /** Its class, as the error a conversion would stop with: "digest", "image" (damaged tar or compression), "registry". */
  code: ErrorCode;
}

/** The outcome of verifying an image. */
export interface VerifyReport {
  ok: boolean;
  /** Index, manifest and config were verified when the image was opened. */
  documents: { manifest: string; config: string; index?: string };
  layers: Array<{ index: number; digest: string; size: number; diffId: string; uncompressedSize: number }>;
  problems: VerifyProblem[];
  /** Layers whose content matched another position's diff_id (archives that list layers out of order). */
  reordered: boolean;
}

/**
 * Read every layer of `image` completely: digest, size, decompression, diff_id and tar structure. Collects all problems
 * instead of stopping at the first. `signal` stops it (an "interrupted" error).
 */
export async function verifyImage(image: Image, signal?: AbortSignal): Promise<VerifyReport> {
  const problems: VerifyProblem[] = [];
  const layers: VerifyReport["layers"] = [];
  const count = image.layers.length;
  const actualDiffIds: Array<string | undefined> = [];
  for (const layer of image.layers) {
    const name = layerName(layer, count);
    // Also while the rest of a damaged blob is only hashed: checked on the compressed side.
    const interrupted = () => throwIfInterrupted(signal, "finish the verification", `in ${name}`);
    interrupted();
    const parser = new TarParser({ entry() {}, data() {}, entryEnd() {} }, { name });
    try {
      const result = await readLayer(layer, count, (chunk) => parser.push(chunk), {
        checkDiffId: false,
        check: interrupted,
        signal,
      });
      actualDiffIds.push(result.diffId);
      layers.push({ index: layer.index, ...result });
      try {
        parser.finish();
      } catch (err) {
        problems.push({
          what: name,
          message: describeError(err),
          code: err instanceof Oci2LxcError ? err.code : "image",
        });
      }
    } catch (err) {
      actualDiffIds.push(undefined);
      if (err instanceof DigestMismatchError) {
        problems.push({
          what: err.what,
          expected: err.expected,
          actual: err.actual,
          message: err.message,
          code: err.code,
        });
      } else if (err instanceof Oci2LxcError && !isInterruption(err)) {
        problems.push({ what: name, message: err.message, code: err.code });
      } else {
        throw err;
      }
    }
  }
  // diff_ids: in order if each matches; otherwise as a set (some archives list layers out of order).
  const expected = image.layers.map((l) => l.diffId);
  let reordered = false;
  const inOrder = actualDiffIds.every((d, i) => d === undefined || d === expected[i]);
  if (!inOrder) {
    const remaining = [...expected];
    const asSet = actualDiffIds.every((d) => {
      if (d === undefined) return true;
      const at = remaining.indexOf(d);
      if (at < 0) return false;
      remaining.splice(at, 1);
      return true;
    });
    if (asSet) {
      reordered = true;
    } else {
      actualDiffIds.forEach((d, i) => {
        if (d !== undefined && !expected.includes(d)) {
          const layer = image.layers[i]!;
          problems.push({
            what: `diff_id of ${layerName(layer, count)}`,
            expected: layer.diffId,
            actual: d,
            message: `Cannot verify ${
              layerName(layer, count)
            }: its content hashes to ${d}, which is not among the config's diff_ids`,
            code: "digest",
          });
        }
      });
    }
  }
  const documents: VerifyReport["documents"] = { manifest: image.manifest.digest, config: image.config.digest };
  if (image.index) documents.index = image.index.digest;
  return { ok: problems.length === 0, documents, layers, problems, reordered };
}

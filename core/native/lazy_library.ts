/**
 * A system library opened through `Deno.dlopen` on first use, once per process, so a conversion that never needs it
 * runs without it (an image without zstd layers needs no libzstd). A library that cannot be opened is an
 * {@linkcode Oci2LxcError} that says what it was wanted for and how to install it.
 *
 * @module
 */
import { describeError, Oci2LxcError } from "../errors.ts";

/** What to say when the library cannot be opened. */
export interface LazyLibraryUse {
  /** What the library is for, e.g. `decompress gzip layers`. */
  readonly purpose: string;
  /** How to get it, e.g. `Install zlib (Debian: apt-get install zlib1g) and allow FFI (--allow-ffi)`. */
  readonly hint: string;
}

/**
 * A function that opens `soname` with `symbols` at its first call and returns the symbols.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lazyLibrary } from "./lazy_library.ts";
 * const libz = lazyLibrary("libz.so.1", { zlibVersion: { parameters: [], result: "pointer" } }, {
 *   purpose: "decompress gzip layers",
 *   hint: "Install zlib",
 * });
 * const version = Deno.UnsafePointerView.getCString(libz().zlibVersion()!);
 * assert.match(version, /^1\./);
 * ```
 */
export function lazyLibrary<S extends Deno.ForeignLibraryInterface>(
  soname: string,
  symbols: S,
  use: LazyLibraryUse,
): () => Deno.DynamicLibrary<S>["symbols"] {
  let library: Deno.DynamicLibrary<S> | undefined;
  return () => {
    if (library === undefined) {
      try {
        library = Deno.dlopen(soname, symbols);
      } catch (err) {
        throw new Oci2LxcError("image", `Cannot load ${soname} to ${use.purpose}: ${describeError(err)}`, {
          cause: err,
          hint: use.hint,
        });
      }
    }
    return library.symbols;
  };
}

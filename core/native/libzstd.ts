/**
 * The system zstd library (`libzstd.so.1`), opened once through
 * `Deno.dlopen` and only when a zstd layer needs it.
 *
 * @module
 */

import { describeError, Oci2LxcError } from "../errors.ts";

const SYMBOLS = {
  ZSTD_createDStream: { parameters: [], result: "pointer" },
  ZSTD_initDStream: { parameters: ["pointer"], result: "usize" },
  // ZSTD_inBuffer and ZSTD_outBuffer live in Uint8Arrays we own.
  ZSTD_decompressStream: {
    parameters: ["pointer", "buffer", "buffer"],
    result: "usize",
  },
  ZSTD_freeDStream: { parameters: ["pointer"], result: "usize" },
  ZSTD_DStreamOutSize: { parameters: [], result: "usize" },
  ZSTD_isError: { parameters: ["usize"], result: "u32" },
  ZSTD_getErrorName: { parameters: ["usize"], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The zstd functions oci2lxc calls. */
export type LibZstd = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** The soname we open; Debian ships it in `libzstd1`. */
export const LIBZSTD_SONAME = "libzstd.so.1";

let library: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;

/**
 * Open `libzstd.so.1` on first use and return its symbols.
 *
 * @throws {Oci2LxcError} when the library cannot be loaded (missing, or no FFI permission)
 */
export function libzstd(): LibZstd {
  if (library === undefined) {
    try {
      library = Deno.dlopen(LIBZSTD_SONAME, SYMBOLS);
    } catch (err) {
      throw new Oci2LxcError(
        "image",
        `Cannot load ${LIBZSTD_SONAME} to decompress zstd layers: ${describeError(err)}`,
        {
          cause: err,
          hint: "Install zstd's library (Debian: apt-get install libzstd1) and allow FFI (--allow-ffi)",
        },
      );
    }
  }
  return library.symbols;
}

/**
 * The system zstd library (`libzstd.so.1`), opened once through `Deno.dlopen` and only when a zstd layer needs it.
 *
 * @module
 */

import { lazyLibrary } from "./lazy_library.ts";

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
  // Compression (template output). A ZSTD_CStream is a ZSTD_CCtx since zstd 1.3.0, so the advanced parameter API
  // applies to it.
  ZSTD_createCStream: { parameters: [], result: "pointer" },
  ZSTD_freeCStream: { parameters: ["pointer"], result: "usize" },
  ZSTD_CCtx_setParameter: {
    parameters: ["pointer", "i32", "i32"],
    result: "usize",
  },
  // (cctx, ZSTD_outBuffer*, ZSTD_inBuffer*, ZSTD_EndDirective)
  ZSTD_compressStream2: {
    parameters: ["pointer", "buffer", "buffer", "i32"],
    result: "usize",
  },
  ZSTD_CStreamOutSize: { parameters: [], result: "usize" },
} as const satisfies Deno.ForeignLibraryInterface;

/** `ZSTD_cParameter` values used with `ZSTD_CCtx_setParameter` (stable API). */
export const ZSTD_c_compressionLevel = 100;
/** Write a 32-bit content checksum at the end of the frame, as the `zstd` CLI does. */
export const ZSTD_c_checksumFlag = 201;
/** Worker threads; setting it fails when libzstd was built without multithreading. */
export const ZSTD_c_nbWorkers = 400;

/** `ZSTD_EndDirective` values for `ZSTD_compressStream2`. */
export const ZSTD_e_continue = 0;
/** Flush what is buffered and close the frame. */
export const ZSTD_e_end = 2;

/** The zstd functions oci2lxc calls. */
export type LibZstd = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** The soname we open; Debian ships it in `libzstd1`. */
export const LIBZSTD_SONAME = "libzstd.so.1";

/**
 * Open `libzstd.so.1` on first use and return its symbols.
 *
 * @throws {Oci2LxcError} when the library cannot be loaded (missing, or no FFI permission)
 */
export const libzstd: () => LibZstd = lazyLibrary(LIBZSTD_SONAME, SYMBOLS, {
  purpose: "decompress zstd layers",
  hint: "Install zstd's library (Debian: apt-get install libzstd1) and allow FFI (--allow-ffi)",
});

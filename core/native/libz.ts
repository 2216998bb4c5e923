/**
 * The system zlib (`libz.so.1`), opened once through `Deno.dlopen` and only when a gzip layer needs it, so images
 * without gzip layers run without it.
 *
 * @module
 */

import { lazyLibrary } from "./lazy_library.ts";

const SYMBOLS = {
  zlibVersion: { parameters: [], result: "pointer" },
  // `strm` is passed as a buffer: the z_stream lives in a Uint8Array we own.
  inflateInit2_: {
    parameters: ["buffer", "i32", "pointer", "i32"],
    result: "i32",
  },
  inflate: { parameters: ["buffer", "i32"], result: "i32" },
  inflateReset: { parameters: ["buffer"], result: "i32" },
  inflateEnd: { parameters: ["buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The zlib functions oci2lxc calls. */
export type LibZ = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** The soname we open; Debian ships it in `zlib1g`. */
const LIBZ_SONAME = "libz.so.1";

/**
 * Open `libz.so.1` on first use and return its symbols.
 *
 * @throws {Oci2LxcError} when the library cannot be loaded (missing, or no FFI permission)
 */
export const libz: () => LibZ = lazyLibrary(LIBZ_SONAME, SYMBOLS, {
  purpose: "decompress gzip layers",
  hint: "Install zlib (Debian: apt-get install zlib1g) and allow FFI (--allow-ffi)",
});

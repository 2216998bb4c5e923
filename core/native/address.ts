/**
 * Raw addresses for C structs we lay out ourselves in Uint8Arrays.
 *
 * @module
 */

/**
 * The address of a view's first byte, for storing in a C struct field. Off-heap ArrayBuffers do not move, so the
 * address stays valid while the caller keeps the view alive.
 *
 * @throws {RangeError} for an empty view, which has no address
 */
export function addressOf(bytes: Uint8Array): bigint {
  const pointer = Deno.UnsafePointer.of(bytes);
  if (pointer === null) {
    throw new RangeError("Cannot take the address of an empty buffer");
  }
  return BigInt(Deno.UnsafePointer.value(pointer));
}

/** Read a NUL-terminated C string at a raw address; `fallback` for NULL. */
export function readCString(address: bigint, fallback: string): string {
  const pointer = Deno.UnsafePointer.create(address);
  if (pointer === null) return fallback;
  return Deno.UnsafePointerView.getCString(pointer);
}

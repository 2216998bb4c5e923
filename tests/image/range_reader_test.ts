/**
 * range_reader.ts: a range with a held descriptor (LocalRange.fd, set by the blob feed) is read through it, so a
 * removed file still reads; when the descriptor cannot be opened (no /proc, a narrow --allow-read) the path is used.
 */
import assert from "node:assert/strict";
import { rangeChunks, rangeStream } from "../../core/image/range_reader.ts";
import { AT_FDCWD, close, O_RDONLY, openat } from "../../core/native/libc.ts";
import { withTempDir } from "../_helpers/oci_builder.ts";

function concat(parts: Uint8Array[]): string {
  return new TextDecoder().decode(new Uint8Array(parts.flatMap((p) => [...p])));
}

Deno.test("a range with a held descriptor reads through it after its file is removed", async () => {
  await withTempDir(async (dir) => {
    Deno.writeTextFileSync(`${dir}/blob`, "0123456789");
    const fd = openat(AT_FDCWD, new TextEncoder().encode(`${dir}/blob`), O_RDONLY);
    assert(fd >= 0);
    try {
      Deno.removeSync(`${dir}/blob`);
      const range = { file: `${dir}/blob`, offset: 2, size: 5, fd };
      assert.equal(concat([...rangeChunks(range)].map((c) => c.slice())), "23456");
      assert.equal(concat(await Array.fromAsync(rangeStream(range))), "23456");
    } finally {
      close(fd);
    }
  });
});

Deno.test("a range whose descriptor cannot be opened is read by its path", async () => {
  await withTempDir(async (dir) => {
    Deno.writeTextFileSync(`${dir}/blob`, "0123456789");
    // A number no descriptor of this process has: /proc/self/fd/N does not exist.
    const range = { file: `${dir}/blob`, offset: 0, size: 4, fd: 999_999 };
    assert.equal(concat([...rangeChunks(range)].map((c) => c.slice())), "0123");
    assert.equal(concat(await Array.fromAsync(rangeStream(range))), "0123");
  });
});

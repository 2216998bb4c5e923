/**
 * The blob cache's stamps: a blob this process just verified and wrote is trusted on its next use without being hashed
 * again (the warm convert right after a cold one), and a write to it afterwards is still noticed.
 */
import assert from "node:assert/strict";
import { BlobCache } from "../../core/cache/blob_cache.ts";
import { Hasher } from "../../core/digest.ts";
import { withTempDir } from "../_helpers/oci_builder.ts";

function digestOf(bytes: Uint8Array): string {
  const hasher = new Hasher("sha256");
  hasher.update(bytes);
  return hasher.digest();
}

Deno.test("a blob just written and verified is not hashed again on its next lookup; a later write is noticed", async () => {
  await withTempDir(async (dir) => {
    const cache = new BlobCache(`${dir}/cache`);
    const bytes = new Uint8Array(4096).map((_, i) => i * 7);
    const digest = digestOf(bytes);
    const writer = await cache.writer(digest, bytes.length, "application/octet-stream");
    await writer.write(bytes);
    assert(await writer.commit());
    // A re-hash rewrites the stamp (a new file renamed over it): the stamp's inode tells whether lookup hashed.
    const stampIno = Deno.statSync(cache.stampPath(digest)).ino;
    assert.deepEqual(cache.lookup(digest, bytes.length), cache.blobPath(digest));
    assert.deepEqual(Deno.statSync(cache.stampPath(digest)).ino, stampIno, "the blob was hashed again");
    // A write moves ctime: the blob is hashed, found changed and dropped. (Not in the clock tick of the last write: a
    // write through the blob's name in that instant is the one the writer's stamp cannot see; readers verify anyway.)
    await new Promise((resolve) => setTimeout(resolve, 50));
    await Deno.writeFile(cache.blobPath(digest), new Uint8Array(bytes.length));
    assert.deepEqual(cache.lookup(digest, bytes.length), undefined);
    assert(!cache.has(digest));
  });
});

/**
 * A second process for the cache tests: reads every blob of an image through the cache at `CACHE`, after waiting
 * (bounded) until a file named by the parent exists, so two children start their downloads together.
 *
 * deno run -A _cache_child.ts memory FIXTURE CACHE READY_DIR NAME
 * deno run -A _cache_child.ts registry HOST/REPO:TAG CACHE READY_DIR NAME
 * deno run -A _cache_child.ts hang FIXTURE CACHE - -        (prints "started" mid-download, then waits to be killed)
 *
 * Prints one JSON line: {"opened": N, "manifests": [...], "blobs": [...]}.
 */
import { BlobCache } from "../../core/cache/blob_cache.ts";
import { cachingSource } from "../../core/cache/caching_source.ts";
import { RegistryClient } from "../../core/registry/registry_client.ts";
import type { Descriptor } from "../../core/image/descriptor.ts";
import type { ImageSource } from "../../core/image/image_source.ts";
import { MemorySource } from "../image/_memory_source.ts";
import { registrySource } from "./_registry_source.ts";
import { readImage } from "./_read_image.ts";

const [mode, what, cacheDir, readyDir, name] = Deno.args as [string, string, string, string, string];
let source: ImageSource & { opened: number };
let top: Descriptor[];
if (mode === "registry") {
  const [, host, repo, tag] = /^([^/]+)\/(.+):([^:]+)$/.exec(what)!;
  const client = new RegistryClient(host!, { tlsVerify: false });
  const found = await registrySource(client, repo!, tag!);
  source = found.source;
  top = [found.top];
} else {
  const memory = await MemorySource.load(what);
  source = memory;
  top = memory.top;
  if (mode === "hang") {
    // Stop in the middle of the largest blob, say so, and wait to be killed.
    const biggest = [...(await collect(memory))].sort((a, b) => (b.size ?? 0) - (a.size ?? 0))[0]!;
    memory.faults.set(biggest.digest, {
      onPull: (at) => {
        if (at > 0) {
          console.log("started");
          // Blocks this process until the parent kills it: the download is cut at an arbitrary byte.
          for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
        }
      },
    });
  }
}
if (readyDir !== "-") {
  await Deno.writeTextFile(`${readyDir}/${name}`, "");
  // Bounded: 400 polls of 25 ms; both children are started together.
  for (let i = 0; i < 400 && [...Deno.readDirSync(readyDir)].length < 2; i++) {
    await new Promise((r) => setTimeout(r, 25));
  }
}
const cached = cachingSource(source, new BlobCache(cacheDir));
const read = await readImage(cached, top, { slow: mode !== "hang" });
console.log(JSON.stringify({ opened: source.opened, ...read }));

/** The config and layer descriptors of a memory source's first manifest. */
async function collect(memory: MemorySource): Promise<Descriptor[]> {
  const doc = JSON.parse(new TextDecoder().decode(await memory.manifest(memory.top[0]!)));
  return [doc.config, ...doc.layers];
}

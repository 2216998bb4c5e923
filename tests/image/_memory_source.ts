/**
 * An {@linkcode ImageSource} whose blobs are only streams, as a registry's fetch() bodies are: made from a real
 * layout's blobs (an archive or directory) held in memory, served in small chunks that are views into one buffer.
 * It counts the streams opened and stopped early, and can damage or cut a blob's stream, as a network can.
 */
import type { Blob, BlobOpenOptions } from "../../core/image/blob.ts";
import { readBlobBytes } from "../../core/image/blob_reader.ts";
import type { Descriptor } from "../../core/image/descriptor.ts";
import type { ImageSource } from "../../core/image/image_source.ts";
import { LayoutSource } from "../../core/image/layout_source.ts";
import { localBlob } from "../../core/image/local_blob.ts";
import { DirectoryMembers } from "../../core/image/directory_members.ts";
import type { MemberTable } from "../../core/image/member.ts";
import { TarIndex } from "../../core/image/tar_index.ts";

/** An odd size, so chunks never line up with anything the readers do. */
const CHUNK = 7919;

/** What to do to one blob's stream. */
export interface StreamFault {
  /** Flip one byte at this offset. */
  flipAt?: number;
  /** Fail the stream with this error once this many bytes have gone through. */
  failAfter?: number;
  error?: Error;
  /** Called before each chunk with the offset it starts at (to abort a transfer at a known place). */
  onPull?: (at: number) => void;
}

/** A layout's blobs in memory, served as streams only. */
export class MemorySource implements ImageSource {
  readonly description: string;
  /** The manifest descriptors of the layout's index.json. */
  readonly top: Descriptor[];
  readonly #blobs: Map<string, Uint8Array>;
  /** Faults by blob digest. */
  readonly faults: Map<string, StreamFault> = new Map();
  opened = 0;
  /** Streams that ended early: cancelled by their reader, or stopped by the signal given to `open`. */
  stopped = 0;

  private constructor(description: string, top: Descriptor[], blobs: Map<string, Uint8Array>) {
    this.description = description;
    this.top = top;
    this.#blobs = blobs;
  }

  /** Read every blob of the layout at `path` (a directory or an OCI archive) into memory. */
  static async load(path: string): Promise<MemorySource> {
    const members: MemberTable = Deno.statSync(path).isDirectory ? new DirectoryMembers(path) : TarIndex.open(path);
    const layout = new LayoutSource(members);
    const blobs = new Map<string, Uint8Array>();
    for (const name of members.names()) {
      const m = /^blobs\/(sha256|sha512)\/([a-f0-9]+)$/.exec(name);
      if (!m) continue;
      const digest = `${m[1]}:${m[2]}`;
      blobs.set(digest, await readBlobBytes(layout.blob({ digest }, "blob"), 1 << 30));
    }
    const indexJson = await readBlobBytes(localBlob(members.get("index.json")!, {}));
    const index = JSON.parse(new TextDecoder().decode(indexJson)) as { manifests: Descriptor[] };
    return new MemorySource(`memory (${path})`, index.manifests, blobs);
  }

  manifest(descriptor: Descriptor): Promise<Uint8Array> {
    return Promise.resolve(this.#bytes(descriptor.digest).slice());
  }

  blob(descriptor: Descriptor, what: string): Blob {
    const bytes = this.#bytes(descriptor.digest);
    return {
      name: `${what} ${descriptor.digest} in memory`,
      digest: descriptor.digest,
      size: descriptor.size,
      mediaType: descriptor.mediaType ?? "",
      local: undefined,
      open: (options?: BlobOpenOptions) => Promise.resolve(this.#stream(descriptor.digest, bytes, options?.signal)),
    };
  }

  #bytes(digest: string): Uint8Array {
    const bytes = this.#blobs.get(digest);
    if (!bytes) throw new Error(`no blob ${digest} in ${this.description}`);
    return bytes;
  }

  #stream(digest: string, stored: Uint8Array, signal: AbortSignal | undefined): ReadableStream<Uint8Array> {
    this.opened++;
    const fault = this.faults.get(digest) ?? {};
    let bytes = stored;
    if (fault.flipAt !== undefined) {
      bytes = stored.slice();
      bytes[fault.flipAt] = bytes[fault.flipAt]! ^ 0x55;
    }
    let at = 0;
    // Counted once per stream: a reader may cancel a stream whose pull already saw the abort.
    let stopped = false;
    const stop = () => {
      if (!stopped) this.stopped++;
      stopped = true;
    };
    return new ReadableStream<Uint8Array>({
      pull: (controller) => {
        fault.onPull?.(at);
        if (signal?.aborted) {
          stop();
          throw signal.reason;
        }
        if (fault.failAfter !== undefined && at >= fault.failAfter) throw fault.error ?? new Error("connection reset");
        if (at >= bytes.length) {
          controller.close();
          return;
        }
        // Views into the one stored buffer: a reader must not take (transfer) more than its chunk.
        controller.enqueue(bytes.subarray(at, Math.min(at + CHUNK, bytes.length)));
        at += CHUNK;
      },
      cancel: () => stop(),
    });
  }
}

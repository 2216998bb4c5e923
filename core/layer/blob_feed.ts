/**
 * Feeding the layer worker the bytes of blobs that are only streams (a registry's fetch() bodies): the main thread reads
 * each stream and posts its chunks to the worker (transferred, not copied), which hashes and decompresses them as it
 * does a local file's. Why not let the worker fetch by itself: a blob's `open()` is a closure over its source (a
 * registry client with its tokens, TLS settings and retries) that cannot cross to another isolate, and rebuilding the
 * client there would copy credentials into a second place. Reading a socket costs the main thread little; hashing and
 * decompression, the expensive part, stay on the second core.
 *
 * The feed is bounded: at most {@linkcode FEED_WINDOW} bytes posted and not yet taken by the worker, so memory stays
 * flat however far the network runs ahead; the worker, in turn, runs ahead of the writer by at most the ring's size.
 *
 * A blob that has come to lie on disk by the time the feed reaches it (a layer downloaded ahead into the blob cache:
 * `Blob.whenLocal`) is not fed at all: the worker is told its file range and reads it itself, the fast path. The feed
 * reaches it long before the worker does (right after its download, while the worker may still be on the first layer),
 * so it holds the file open from then on (held_files.ts): a `cache prune --all` by another process meanwhile takes only
 * the name. A file already gone when the feed reaches it (pruned since its lookup) is streamed instead: downloaded
 * again.
 *
 * A blob that downloads into a file (a layer through the blob cache: `Blob.download`) is not fed either: the worker is
 * told the file and follows it as it grows, learning each new length from the {@linkcode DownloadBoard} in shared
 * memory, so with a cache no layer byte crosses between the threads, and the main thread's part is the socket and one
 * write per chunk.
 *
 * Messages to the worker, after its jobs: `{ type: "chunk", layer, chunk }`, `{ type: "end", layer }`,
 * `{ type: "file", layer, range }` (the whole layer is in that file range: read it there),
 * `{ type: "growing", layer, range }` (the layer is downloading into that file: follow it on the board),
 * `{ type: "error", layer, record }` (the stream failed: the worker reports it as that layer's error, in order), and
 * `{ type: "cancel" }`. The worker answers each chunk with `{ type: "consumed", layer, bytes }`.
 *
 * @module
 */
import type { Blob, GrowingFile, LocalRange } from "../image/blob.ts";
import type { DownloadBoard } from "./download_board.ts";
import { HeldFiles } from "./held_files.ts";
import { errorFromRecord, type ErrorRecord, errorRecord } from "./layer_job.ts";

/** Bytes posted to the worker and not yet taken, at most. */
export const FEED_WINDOW = 8 << 20;

/** A message of the feed, from the main thread to the worker. */
export type FeedMessage =
  | { type: "chunk"; layer: number; chunk: Uint8Array }
  | { type: "end"; layer: number }
  | { type: "file"; layer: number; range: LocalRange }
  | { type: "growing"; layer: number; range: LocalRange }
  | { type: "error"; layer: number; record: ErrorRecord }
  | { type: "cancel" };

/** Thrown in the worker when the feed was cancelled while it waited for a chunk. */
export class FeedCancelled extends Error {
  constructor() {
    super("Cannot go on: the feed was cancelled");
    this.name = "FeedCancelled";
  }
}

/** The worker's side: the feed's messages in arrival order, taken one at a time. */
export class FeedInbox {
  readonly #queue: FeedMessage[] = [];
  #waiting: (() => void) | undefined;
  #cancelled = false;

  /** Hand a message in (from the worker's `onmessage`). */
  deliver(message: FeedMessage): void {
    if (message.type === "cancel") this.#cancelled = true;
    else this.#queue.push(message);
    this.#waiting?.();
    this.#waiting = undefined;
  }

  /**
   * The next chunk of `layer`, null at its end, or the file range that holds all of it (then nothing more comes for it).
   *
   * @throws the stream's error, as the main thread reported it
   * @throws {FeedCancelled} once the feed is cancelled
   */
  async next(layer: number): Promise<Uint8Array | null | { range: LocalRange; growing: boolean }> {
    while (this.#queue.length === 0 && !this.#cancelled) {
      await new Promise<void>((resolve) => this.#waiting = resolve);
    }
    if (this.#cancelled) throw new FeedCancelled();
    const message = this.#queue.shift()!;
    if (message.type === "cancel" || message.layer !== layer) {
      throw new Error(`Cannot read layer ${layer + 1}: the feed sent a message for another layer`);
    }
    if (message.type === "chunk") return message.chunk;
    if (message.type === "end") return null;
    if (message.type === "file") return { range: message.range, growing: false };
    if (message.type === "growing") return { range: message.range, growing: true };
    throw errorFromRecord(message.record);
  }
}

/** The main thread's side: reads the stream blobs in order and posts them, within the window. */
export class BlobFeed {
  readonly #post: (message: FeedMessage, transfer?: Transferable[]) => void;
  readonly #signal: AbortSignal | undefined;
  #posted = 0;
  #consumed = 0;
  #credit: (() => void) | undefined;
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #stopped = false;
  readonly #held: HeldFiles;
  readonly #board: DownloadBoard | undefined;
  /** The errors of downloads that failed while the worker followed their files, by layer. */
  readonly #failures = new Map<number, unknown>();
  /** Settles when every blob has been posted, or the feed stopped. */
  readonly done: Promise<void>;

  /**
   * Start feeding: for each layer in order whose entry in `blobs` is defined, its stream's chunks, then its end.
   *
   * @param post posts a message to the worker
   * @param held where the files handed to the worker are held open; the caller releases them
   */
  constructor(
    blobs: ReadonlyArray<Blob | undefined>,
    post: (message: FeedMessage, transfer?: Transferable[]) => void,
    signal: AbortSignal | undefined,
    held: HeldFiles = new HeldFiles(),
    board?: DownloadBoard,
  ) {
    this.#post = post;
    this.#signal = signal;
    this.#held = held;
    this.#board = board;
    this.done = this.#run(blobs);
  }

  /** The error of `layer`'s download, when it failed while the worker followed its file. */
  failure(layer: number): unknown {
    return this.#failures.get(layer);
  }

  /** The worker took `bytes` more (its `consumed` message). */
  consumed(bytes: number): void {
    this.#consumed += bytes;
    this.#credit?.();
    this.#credit = undefined;
  }

  /** Stop reading (the transfer in progress is cancelled) and tell the worker to stop waiting. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#reader?.cancel().catch(() => {});
    this.#credit?.();
    try {
      this.#post({ type: "cancel" });
    } catch { /* the worker is gone */ }
  }

  async #run(blobs: ReadonlyArray<Blob | undefined>): Promise<void> {
    for (let layer = 0; layer < blobs.length && !this.#stopped; layer++) {
      const blob = blobs[layer];
      if (blob === undefined) continue;
      try {
        // Downloading into a file (the blob cache's): the worker follows the file as it grows.
        const growing = this.#board
          ? await blob.download?.({ signal: this.#signal }).catch(() => undefined)
          : undefined;
        if (this.#stopped) return;
        const followed = growing &&
          this.#held.hold(layer, { file: growing.file, offset: 0, size: growing.size, hint: growing.hint });
        if (growing && followed) {
          this.#announce(layer, growing);
          this.#post({ type: "growing", layer, range: followed });
          continue;
        }
        // Downloaded ahead meanwhile: the worker reads the file itself.
        const range = await blob.whenLocal?.().catch(() => undefined);
        if (this.#stopped) return;
        const held = range && this.#held.hold(layer, range);
        if (held) {
          this.#post({ type: "file", layer, range: held });
          continue;
        }
        await this.#feed(blob, layer);
        if (!this.#stopped) this.#post({ type: "end", layer });
      } catch (err) {
        // The worker reports it in its turn, after the layers before it, as a read error on this thread would be.
        if (!this.#stopped) this.#post({ type: "error", layer, record: errorRecord(err, false) });
        return;
      }
    }
  }

  /** Post `growing`'s length to the board as it grows, and how its download ended. */
  #announce(layer: number, growing: GrowingFile): void {
    const board = this.#board!;
    const stop = growing.watch(() => board.wrote(layer, growing.written()));
    board.wrote(layer, growing.written());
    growing.done.then(() => {
      stop();
      board.done(layer, growing.written());
    }, (err) => {
      stop();
      this.#failures.set(layer, err);
      board.failed(layer);
    });
  }

  async #feed(blob: Blob, layer: number): Promise<void> {
    const reader = (await blob.open({ signal: this.#signal })).getReader();
    this.#reader = reader;
    let done = false;
    try {
      while (!this.#stopped) {
        const next = await reader.read();
        if (next.done) {
          done = true;
          return;
        }
        // Transfer the chunk's memory when the chunk is all of it; a view into a larger buffer is copied, since the
        // rest of that buffer may be another chunk's.
        const whole = next.value.byteOffset === 0 && next.value.byteLength === next.value.buffer.byteLength &&
          next.value.buffer instanceof ArrayBuffer;
        const chunk = whole ? next.value : next.value.slice();
        this.#posted += chunk.length;
        this.#post({ type: "chunk", layer, chunk }, [chunk.buffer as ArrayBuffer]);
        while (this.#posted - this.#consumed > FEED_WINDOW && !this.#stopped) {
          await new Promise<void>((resolve) => this.#credit = resolve);
        }
      }
    } finally {
      this.#reader = undefined;
      if (!done) await reader.cancel().catch(() => {});
      reader.releaseLock();
    }
  }
}

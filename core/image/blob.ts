/**
 * A blob of an image (a config or a layer) as every source offers it: it knows its digest, size and media type and
 * opens as a byte stream. A source whose bytes lie in a local file says so too, so readers can take the fast path
 * (synchronous reads into one reused buffer, also from the layer worker) instead of the stream.
 *
 * @module
 */

/** A byte range of a file on disk: where a blob of an archive or layout directory lies. */
export interface LocalRange {
  /** The file on disk that holds the bytes. */
  readonly file: string;
  /** Offset of the first byte within `file`. */
  readonly offset: number;
  /** Length in bytes. */
  readonly size: number;
  /**
   * What to do when the file turns out gone, short or not matching its digest as it is read: the hint of that error.
   * A blob cache file can be removed or changed by another process between the lookup that vouched for it and the read
   * (a layer downloaded ahead is read later, in its turn); an archive's file needs no hint of its own.
   */
  readonly hint?: string | undefined;
  /**
   * A descriptor this process holds open on `file`, read through `/proc/self/fd/N` (also from the layer worker, which
   * shares the descriptors): the bytes stay readable when the file is removed meanwhile. Set on the ranges handed to
   * the layer worker (core/layer/held_files.ts), closed once the worker has read that layer.
   */
  readonly fd?: number | undefined;
}

/** Options for {@linkcode Blob.open}. */
export interface BlobOpenOptions {
  /** Stops the transfer: the stream errors (or `open` rejects) once it aborts. */
  signal?: AbortSignal | undefined;
  /**
   * Told the path of the local file the bytes are also written to (a blob cache's download file) before the first byte
   * goes there; every chunk the stream hands out is in that file by then. Not called when there is no such file.
   */
  onSpill?: ((file: string, hint?: string) => void) | undefined;
}

/**
 * A blob's download into a local file while it runs: the bytes up to {@linkcode written} are in `file` already, so a
 * reader can follow the file as it grows instead of taking the bytes from a stream (core/layer/download_board.ts).
 */
export interface GrowingFile {
  /** The file being written; when the download ends it may be renamed (into a blob cache): hold it open before. */
  readonly file: string;
  /** The blob's size: the file's size once the download is done. */
  readonly size: number;
  /** What to do when the file turns out damaged as it is read (LocalRange.hint). */
  readonly hint?: string | undefined;
  /** Bytes in the file so far. */
  written(): number;
  /** Call `listener` after each write and once when the download ends; returns the way to stop. */
  watch(listener: () => void): () => void;
  /** Resolves when every byte is in the file, rejects with the download's error. */
  readonly done: Promise<void>;
}

/**
 * One blob of an image. Verification is the reader's job, never the source's: whoever reads the stream hashes it and
 * checks it against `digest` and `size` (core/layer/layer_stream.ts, core/image/documents.ts).
 */
export interface Blob {
  /** Names the blob in messages: "blobs/sha256/ab12…" (a member of an archive), "sha256:ab12… in ghcr.io/x/y". */
  readonly name: string;
  /** The digest the descriptor names; undefined when the source names none (a legacy docker-archive layer). */
  readonly digest: string | undefined;
  /** The size the descriptor names; undefined when it names none (then the stream's length is taken as it is). */
  readonly size: number | undefined;
  /** The descriptor's media type ("" when the source gives none). */
  readonly mediaType: string;
  /** Where the bytes lie on local disk, when they do: the fast path. Undefined for a blob that is only a stream. */
  readonly local: LocalRange | undefined;
  /** The bytes, from the first, as a stream (a file read, a fetch() body); cancel it to stop early. */
  open(options?: BlobOpenOptions): Promise<ReadableStream<Uint8Array>>;
  /**
   * For a blob that can come to lie on local disk during the run (a layer downloading ahead into the blob cache): wait
   * for that download to end, then give its local range, or undefined when the bytes are not on disk (then `open()`
   * them). Readers ask it when they reach the blob, so a layer that downloaded ahead takes the fast path too.
   */
  whenLocal?(): Promise<LocalRange | undefined>;
  /**
   * For a blob that downloads into a local file (a layer through the blob cache): start that download now, or join the
   * one under way, and give the file as it grows; undefined when there is none to follow (the blob is on disk already,
   * ask `whenLocal()`, or is only a stream). Readers that can follow a file (the layer worker) read it so. Its
   * `signal` stops the download (and removes its partial file) as `open`'s does.
   */
  download?(options?: BlobOpenOptions): Promise<GrowingFile | undefined>;
}

/** The size to show and count progress by: the descriptor's, or the local range's. */
export function blobLength(blob: Blob): number {
  return blob.size ?? blob.local?.size ?? 0;
}

/**
 * The files the layer worker is to read, held open by the main thread until the worker has read them. The worker opens
 * `/proc/self/fd/N` (LocalRange.fd; a worker shares the process's descriptors), so a file whose name goes meanwhile
 * still reads: a blob cache file removed by `cache prune --all` in another process, an archive replaced by a new save.
 * The layers are read in turn, often long after the worker was told where they lie (a warm convert's jobs at its
 * start; a layer downloaded ahead as soon as its download ends), and prune promises that a blob being read stays
 * readable.
 *
 * A descriptor is closed once the worker has reported its layer's end, or when the worker is gone: never while a
 * running worker could still open the number after it was closed and reused by another file.
 *
 * @module
 */
import type { LocalRange } from "../image/blob.ts";
import { AT_FDCWD, close, O_RDONLY, openat } from "../native/libc.ts";

const encoder = new TextEncoder();

/** Descriptors held on layers' files, by layer. */
export class HeldFiles {
  readonly #fds = new Map<number, number>();

  /** `range` with a descriptor held on its file for `layer`, or undefined when the file cannot be opened (gone). */
  hold(layer: number, range: LocalRange): LocalRange | undefined {
    const fd = openat(AT_FDCWD, encoder.encode(range.file), O_RDONLY);
    if (fd < 0) return undefined;
    this.release(layer);
    this.#fds.set(layer, fd);
    return { ...range, fd };
  }

  /** The worker is done with `layer`'s file: close its descriptor, if one is held. */
  release(layer: number): void {
    const fd = this.#fds.get(layer);
    if (fd === undefined) return;
    this.#fds.delete(layer);
    close(fd);
  }

  /** Close every descriptor still held: the worker is gone. */
  releaseAll(): void {
    for (const layer of [...this.#fds.keys()]) this.release(layer);
  }
}

/**
 * A ring of byte chunks in one SharedArrayBuffer, between one producer (the layer worker: read, hash, decompress) and
 * one consumer (the main thread: tar parsing and file writes). No promise, message or copy per chunk on the producer's
 * side; the consumer waits with `Atomics.waitAsync`, so its event loop (Ctrl-C, progress) keeps running while the ring
 * is empty.
 *
 * Neither side ever waits without a bound: the producer checks the cancel flag at least every
 * {@linkcode PRODUCER_WAIT_MS}, the consumer asks its `alive()` callback at least every {@linkcode CONSUMER_WAIT_MS}.
 *
 * @module
 */

/** A record of tar bytes. */
export const KIND_DATA = 0;
/** The end of one layer: a JSON payload with what was measured. */
export const KIND_END = 1;
/** A failure: a JSON payload describing the error; nothing follows. */
export const KIND_ERROR = 2;

// 8 MiB: enough to carry the writer over a run of large files while the worker catches up (8 slots: 1x zstd 665 ms of
// assembly; 32: ~610 ms; 64 gains little more for +6 MiB RSS).
const SLOTS = 32;
const SLOT_SIZE = 256 << 10;
/** Per slot: full flag, length, kind. Index 0 of the control array is the cancel flag. */
const FIELDS = 3;
const CANCEL = 0;
const CONTROL_BYTES = (1 + SLOTS * FIELDS) * 4;
/** Producer's longest single wait. */
export const PRODUCER_WAIT_MS = 200;
/** Consumer's longest single wait. */
export const CONSUMER_WAIT_MS = 100;

/** Thrown in the producer when the consumer cancelled. */
export class RingCancelled extends Error {
  constructor() {
    super("Cannot go on: the reader cancelled");
    this.name = "RingCancelled";
  }
}

/** One side's view of a ring made by {@linkcode ChunkRing.create}. */
export class ChunkRing {
  readonly #control: Int32Array;
  /** Compressed bytes read so far, per layer (written by the producer, read for progress). */
  readonly progress: Float64Array;
  readonly #data: Uint8Array;
  #next = 0;

  /** Shared memory for a ring over `layers` layers. */
  static create(layers: number): SharedArrayBuffer {
    const progressBytes = Math.max(1, layers) * 8;
    const controlAligned = Math.ceil(CONTROL_BYTES / 8) * 8;
    return new SharedArrayBuffer(controlAligned + progressBytes + SLOTS * SLOT_SIZE);
  }

  constructor(shared: SharedArrayBuffer, layers: number) {
    const controlAligned = Math.ceil(CONTROL_BYTES / 8) * 8;
    const progressCount = Math.max(1, layers);
    this.#control = new Int32Array(shared, 0, 1 + SLOTS * FIELDS);
    this.progress = new Float64Array(shared, controlAligned, progressCount);
    this.#data = new Uint8Array(shared, controlAligned + progressCount * 8, SLOTS * SLOT_SIZE);
  }

  /**
   * Producer: stop if the consumer cancelled (for a producer that waits on something else than the ring).
   *
   * @throws {RingCancelled} when the consumer cancelled
   */
  throwIfCancelled(): void {
    if (Atomics.load(this.#control, CANCEL) === 1) throw new RingCancelled();
  }

  /** Consumer: tell the producer to stop at its next wait. */
  cancel(): void {
    Atomics.store(this.#control, CANCEL, 1);
    for (let i = 0; i < SLOTS; i++) Atomics.notify(this.#control, 1 + i * FIELDS);
  }

  /**
   * Producer: copy `bytes` into the ring (in slot-sized pieces) and publish them; only the last piece carries `kind`.
   *
   * @throws {RingCancelled} when the consumer cancelled
   */
  put(kind: number, bytes: Uint8Array): void {
    const control = this.#control;
    let at = 0;
    do {
      const n = Math.min(bytes.length - at, SLOT_SIZE);
      const slot = this.#next;
      const flag = 1 + slot * FIELDS;
      while (Atomics.load(control, flag) === 1) {
        if (Atomics.load(control, CANCEL) === 1) throw new RingCancelled();
        Atomics.wait(control, flag, 1, PRODUCER_WAIT_MS);
      }
      if (Atomics.load(control, CANCEL) === 1) throw new RingCancelled();
      this.#data.set(bytes.subarray(at, at + n), slot * SLOT_SIZE);
      control[flag + 1] = n;
      control[flag + 2] = at + n >= bytes.length ? kind : KIND_DATA;
      Atomics.store(control, flag, 1);
      Atomics.notify(control, flag);
      this.#next = (slot + 1) % SLOTS;
      at += n;
    } while (at < bytes.length);
  }

  /**
   * Consumer: the next record's kind and bytes, valid until {@linkcode release}. Synchronous when a record is waiting;
   * otherwise waits, letting the event loop run.
   *
   * @param alive asked between waits; throw from it to stop waiting (the producer died)
   */
  take(alive: () => void): { kind: number; view: Uint8Array } | Promise<{ kind: number; view: Uint8Array }> {
    const flag = 1 + this.#next * FIELDS;
    if (Atomics.load(this.#control, flag) === 1) return this.#record();
    return this.#wait(flag, alive);
  }

  /** Consumer: hand the record's slot back to the producer. */
  release(): void {
    const flag = 1 + this.#next * FIELDS;
    Atomics.store(this.#control, flag, 0);
    Atomics.notify(this.#control, flag);
    this.#next = (this.#next + 1) % SLOTS;
  }

  async #wait(flag: number, alive: () => void): Promise<{ kind: number; view: Uint8Array }> {
    while (Atomics.load(this.#control, flag) === 0) {
      alive();
      const waiting = Atomics.waitAsync(this.#control, flag, 0, CONSUMER_WAIT_MS);
      if (!waiting.async) continue;
      // waitAsync's own timeout does not keep Deno's event loop alive; a timer does.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([waiting.value, new Promise((resolve) => timer = setTimeout(resolve, CONSUMER_WAIT_MS))]);
      clearTimeout(timer);
    }
    return this.#record();
  }

  #record(): { kind: number; view: Uint8Array } {
    const slot = this.#next;
    const flag = 1 + slot * FIELDS;
    const length = this.#control[flag + 1]!;
    return { kind: this.#control[flag + 2]!, view: this.#data.subarray(slot * SLOT_SIZE, slot * SLOT_SIZE + length) };
  }
}

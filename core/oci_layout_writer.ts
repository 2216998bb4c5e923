/**
 * Writing an OCI image layout (`oci-layout`, `index.json`, `blobs/<algorithm>/<hex>`) as `pull` makes it: into a tar
 * (`oci-archive:FILE`) or a directory (`oci:DIR`). Nothing is visible at the target until {@linkcode
 * OciLayoutWriter.commit}: the archive is written to a temporary file beside FILE and renamed over it, a new directory
 * is filled under a temporary name and renamed into place, and an existing layout directory gets each new blob under a
 * temporary name (renamed when complete) and its `index.json` replaced by a rename last. {@linkcode
 * OciLayoutWriter.abort} removes everything the writer made, so a failed or interrupted pull leaves the target as it
 * was.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { parseDigest } from "./digest.ts";
import { describeError, Oci2LxcError, quoteForMessage } from "./errors.ts";
import { TarWriter } from "./tar/tar_writer.ts";

/** `oci-layout`'s content: the layout version every reader checks. */
export const OCI_LAYOUT = '{"imageLayoutVersion": "1.0.0"}';
/** The media type of `index.json`. */
export const OCI_INDEX_TYPE = "application/vnd.oci.image.index.v1+json";

/** A descriptor as `index.json` lists it. */
export interface IndexEntry {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
  annotations?: Record<string, string>;
}

/** Where a layout is written. */
export interface LayoutTarget {
  /** `oci-archive` (a tar file) or `oci` (a directory). */
  readonly transport: "oci-archive" | "oci";
  /** The file or directory. */
  readonly path: string;
}

/** Receives one layout's blobs and index entry; `commit` makes it visible, `abort` removes what was made. */
export interface OciLayoutWriter {
  /** Whether the blob is already there (written by this writer, or in an existing layout directory). */
  has(digest: string): boolean;
  /** Write one blob from `stream`, which the caller has made check the digest (it errors at its end otherwise). */
  addBlob(digest: string, size: number, stream: ReadableStream<Uint8Array>): Promise<void>;
  /** Write the blob given as bytes (a manifest, checked already). */
  addBytes(digest: string, bytes: Uint8Array): Promise<void>;
  /** Write `index.json` with `entry` (replacing an entry of the same ref name in an existing layout) and publish. */
  commit(entry: IndexEntry): Promise<void>;
  /** Remove everything this writer made; the target stays as it was. Safe to call more than once. */
  abort(): Promise<void>;
}

const REF_NAME = "org.opencontainers.image.ref.name";
const encoder = new TextEncoder();

/** The temporary name of a target: `.NAME.oci2lxc-pull-PID-RANDOM` beside it (hidden, and says whose it is). */
function tempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.oci2lxc-pull-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`);
}

function blobPath(digest: string): string {
  const d = parseDigest(digest, "a blob of the pulled image");
  return `blobs/${d.algorithm}/${d.hex}`;
}

function writeError(path: string, err: unknown): Oci2LxcError {
  if (err instanceof Oci2LxcError) return err;
  return new Oci2LxcError("destination", `Cannot write ${quoteForMessage(path)}: ${describeError(err)}`, {
    cause: err,
    hint: "Check that the target's directory exists, is writable and has space",
  });
}

/**
 * Start writing a layout at `target`.
 *
 * @throws {Oci2LxcError} code "destination" when the target's directory is missing, the target is a directory where a
 *   file is wanted (or the reverse), or an existing directory is not an OCI layout
 */
export async function openLayoutWriter(target: LayoutTarget): Promise<OciLayoutWriter> {
  const parent = dirname(target.path);
  let info: Deno.FileInfo | undefined;
  try {
    info = await Deno.stat(target.path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw writeError(target.path, err);
  }
  try {
    if (!(await Deno.stat(parent)).isDirectory) throw new Error("not a directory");
  } catch (err) {
    throw new Oci2LxcError("destination", `Cannot write ${quoteForMessage(target.path)}: its directory is missing`, {
      cause: err,
      hint: `Create ${quoteForMessage(parent)} first`,
    });
  }
  if (target.transport === "oci-archive") {
    if (info?.isDirectory) {
      throw new Oci2LxcError(
        "destination",
        `Cannot write oci-archive ${quoteForMessage(target.path)}: it is a directory`,
        {
          hint: "Name a file for oci-archive:FILE, or write the directory with oci:DIR",
        },
      );
    }
    return ArchiveWriter.create(target.path);
  }
  if (info && !info.isDirectory) {
    throw new Oci2LxcError("destination", `Cannot write oci ${quoteForMessage(target.path)}: it is not a directory`, {
      hint: "Name a directory for oci:DIR, or write a tar with oci-archive:FILE",
    });
  }
  if (info) return ExistingLayoutWriter.open(target.path);
  return NewDirectoryWriter.create(target.path);
}

/** The index.json of a new layout with one entry. */
function indexJson(entries: IndexEntry[]): Uint8Array {
  return encoder.encode(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX_TYPE, manifests: entries }));
}

/** Write all of `stream` to `file`, counting bytes; the stream's own error (a digest mismatch) passes through. */
async function copyStream(stream: ReadableStream<Uint8Array>, write: (chunk: Uint8Array) => void): Promise<number> {
  let size = 0;
  for await (const chunk of stream) {
    write(chunk);
    size += chunk.length;
  }
  return size;
}

function writeAll(file: Deno.FsFile, chunk: Uint8Array): void {
  for (let at = 0; at < chunk.length;) at += file.writeSync(chunk.subarray(at));
}

/** An oci-archive: a tar written front to back into a temporary file beside FILE, renamed over FILE at commit. */
class ArchiveWriter implements OciLayoutWriter {
  readonly #path: string;
  readonly #temp: string;
  readonly #file: Deno.FsFile;
  readonly #tar: TarWriter;
  readonly #blobs = new Set<string>();
  readonly #dirs = new Set<string>();
  readonly #mtime = Math.floor(Date.now() / 1000);
  #closed = false;

  private constructor(path: string, temp: string, file: Deno.FsFile) {
    this.#path = path;
    this.#temp = temp;
    this.#file = file;
    this.#tar = new TarWriter((chunk) => writeAll(file, chunk));
  }

  static async create(path: string): Promise<ArchiveWriter> {
    const temp = tempPath(path);
    let file: Deno.FsFile;
    try {
      file = await Deno.open(temp, { write: true, createNew: true, mode: 0o644 });
    } catch (err) {
      throw writeError(path, err);
    }
    const writer = new ArchiveWriter(path, temp, file);
    writer.#member("oci-layout", encoder.encode(OCI_LAYOUT));
    return writer;
  }

  has(digest: string): boolean {
    return this.#blobs.has(digest);
  }

  #directory(name: string): void {
    if (this.#dirs.has(name)) return;
    this.#dirs.add(name);
    this.#tar.add({ path: encoder.encode(name), type: "directory", mode: 0o755, uid: 0, gid: 0, mtime: this.#mtime });
  }

  #header(name: string, size: number): void {
    const parts = name.split("/");
    for (let i = 1; i < parts.length; i++) this.#directory(`${parts.slice(0, i).join("/")}/`);
    this.#tar.add({ path: encoder.encode(name), type: "file", mode: 0o644, uid: 0, gid: 0, size, mtime: this.#mtime });
  }

  #member(name: string, bytes: Uint8Array): void {
    try {
      this.#header(name, bytes.length);
      this.#tar.write(bytes);
    } catch (err) {
      throw writeError(this.#path, err);
    }
  }

  async addBlob(digest: string, size: number, stream: ReadableStream<Uint8Array>): Promise<void> {
    const name = blobPath(digest);
    // The header promises `size` bytes: the stream checks its size and digest at its end, and a short or long one
    // fails the pull (the tar is never finished then), so the header can be written first.
    this.#header(name, size);
    await copyStream(stream, (chunk) => {
      try {
        this.#tar.write(chunk);
      } catch (err) {
        throw writeError(this.#path, err);
      }
    });
    this.#blobs.add(digest);
  }

  addBytes(digest: string, bytes: Uint8Array): Promise<void> {
    this.#member(blobPath(digest), bytes);
    this.#blobs.add(digest);
    return Promise.resolve();
  }

  async commit(entry: IndexEntry): Promise<void> {
    try {
      this.#member("index.json", indexJson([entry]));
      this.#tar.finish();
      this.#file.syncSync();
      this.#file.close();
      this.#closed = true;
      await Deno.rename(this.#temp, this.#path);
    } catch (err) {
      await this.abort();
      throw writeError(this.#path, err);
    }
  }

  async abort(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      try {
        this.#file.close();
      } catch {
        // closed already
      }
    }
    await Deno.remove(this.#temp).catch(() => {});
  }
}

/** Blobs into a directory tree: each under a temporary name in its final directory, renamed when complete. */
class DirectoryBlobs {
  readonly root: string;
  readonly #present = new Set<string>();
  /** Blobs this writer added, to remove on abort. */
  readonly added: string[] = [];

  constructor(root: string) {
    this.root = root;
  }

  has(digest: string): boolean {
    if (this.#present.has(digest)) return true;
    try {
      Deno.statSync(join(this.root, blobPath(digest)));
      this.#present.add(digest);
      return true;
    } catch {
      return false;
    }
  }

  async add(digest: string, source: ReadableStream<Uint8Array> | Uint8Array): Promise<void> {
    const final = join(this.root, blobPath(digest));
    await Deno.mkdir(dirname(final), { recursive: true }).catch((err) => {
      throw writeError(final, err);
    });
    const temp = tempPath(final);
    let file: Deno.FsFile;
    try {
      file = await Deno.open(temp, { write: true, createNew: true, mode: 0o644 });
    } catch (err) {
      throw writeError(final, err);
    }
    // A failure of the stream (a broken transfer, a digest mismatch) passes through as it is: only what goes wrong
    // writing here is a "destination" error.
    const write = (chunk: Uint8Array) => {
      try {
        writeAll(file, chunk);
      } catch (err) {
        throw writeError(final, err);
      }
    };
    try {
      if (source instanceof Uint8Array) write(source);
      else await copyStream(source, write);
      try {
        file.syncSync();
        file.close();
        await Deno.rename(temp, final);
      } catch (err) {
        throw writeError(final, err);
      }
    } catch (err) {
      try {
        file.close();
      } catch {
        // closed already
      }
      await Deno.remove(temp).catch(() => {});
      throw err;
    }
    this.#present.add(digest);
    this.added.push(final);
  }
}

/** A new `oci:DIR`: filled under a temporary name beside DIR, renamed into place at commit. */
class NewDirectoryWriter implements OciLayoutWriter {
  readonly #path: string;
  readonly #temp: string;
  readonly #blobs: DirectoryBlobs;

  private constructor(path: string, temp: string) {
    this.#path = path;
    this.#temp = temp;
    this.#blobs = new DirectoryBlobs(temp);
  }

  static async create(path: string): Promise<NewDirectoryWriter> {
    const temp = tempPath(path);
    try {
      await Deno.mkdir(temp, { mode: 0o755 });
      await Deno.writeTextFile(join(temp, "oci-layout"), OCI_LAYOUT);
    } catch (err) {
      await Deno.remove(temp, { recursive: true }).catch(() => {});
      throw writeError(path, err);
    }
    return new NewDirectoryWriter(path, temp);
  }

  has(digest: string): boolean {
    return this.#blobs.has(digest);
  }

  addBlob(digest: string, _size: number, stream: ReadableStream<Uint8Array>): Promise<void> {
    return this.#blobs.add(digest, stream);
  }

  addBytes(digest: string, bytes: Uint8Array): Promise<void> {
    return this.#blobs.add(digest, bytes);
  }

  async commit(entry: IndexEntry): Promise<void> {
    try {
      await Deno.writeFile(join(this.#temp, "index.json"), indexJson([entry]));
      await Deno.rename(this.#temp, this.#path);
    } catch (err) {
      await this.abort();
      throw writeError(this.#path, err);
    }
  }

  async abort(): Promise<void> {
    await Deno.remove(this.#temp, { recursive: true }).catch(() => {});
  }
}

/**
 * An existing `oci:DIR` (a layout, or an empty directory): new blobs are added beside the ones there, and
 * `index.json` is replaced by a rename, keeping the other images it lists (as skopeo does). An entry with the same ref
 * name is replaced; without a ref name, an entry with the same digest.
 */
class ExistingLayoutWriter implements OciLayoutWriter {
  readonly #path: string;
  readonly #blobs: DirectoryBlobs;
  readonly #index: { manifests?: IndexEntry[] } & Record<string, unknown>;
  readonly #newLayout: boolean;

  private constructor(path: string, index: { manifests?: IndexEntry[] } & Record<string, unknown>, fresh: boolean) {
    this.#path = path;
    this.#blobs = new DirectoryBlobs(path);
    this.#index = index;
    this.#newLayout = fresh;
  }

  static async open(path: string): Promise<ExistingLayoutWriter> {
    const names: string[] = [];
    for await (const entry of Deno.readDir(path)) names.push(entry.name);
    if (names.length === 0) return new ExistingLayoutWriter(path, { schemaVersion: 2, manifests: [] }, true);
    const notLayout = () =>
      new Oci2LxcError(
        "destination",
        `Cannot write oci ${quoteForMessage(path)}: it is a directory but no OCI layout`,
        {
          hint: "Name a new or empty directory, or an OCI layout (with oci-layout and index.json) to add the image to",
        },
      );
    if (!names.includes("oci-layout") || !names.includes("index.json")) throw notLayout();
    let index: { manifests?: IndexEntry[] } & Record<string, unknown>;
    try {
      index = JSON.parse(await Deno.readTextFile(join(path, "index.json")));
    } catch (err) {
      throw new Oci2LxcError("destination", `Cannot read ${quoteForMessage(join(path, "index.json"))}: ${err}`, {
        hint: "The layout's index.json is damaged; name another directory",
      });
    }
    if (typeof index !== "object" || index === null || !Array.isArray(index.manifests ?? [])) throw notLayout();
    return new ExistingLayoutWriter(path, index, false);
  }

  has(digest: string): boolean {
    return this.#blobs.has(digest);
  }

  addBlob(digest: string, _size: number, stream: ReadableStream<Uint8Array>): Promise<void> {
    return this.#blobs.add(digest, stream);
  }

  addBytes(digest: string, bytes: Uint8Array): Promise<void> {
    return this.#blobs.add(digest, bytes);
  }

  async commit(entry: IndexEntry): Promise<void> {
    const ref = entry.annotations?.[REF_NAME];
    const kept = (this.#index.manifests ?? []).filter((m) =>
      ref !== undefined ? m.annotations?.[REF_NAME] !== ref : m.digest !== entry.digest
    );
    const index = { ...this.#index, schemaVersion: 2, manifests: [...kept, entry] };
    const final = join(this.#path, "index.json");
    const temp = tempPath(final);
    try {
      if (this.#newLayout) await Deno.writeTextFile(join(this.#path, "oci-layout"), OCI_LAYOUT);
      await Deno.writeFile(temp, encoder.encode(JSON.stringify(index)));
      await Deno.rename(temp, final);
    } catch (err) {
      await Deno.remove(temp).catch(() => {});
      await this.abort();
      throw writeError(this.#path, err);
    }
  }

  async abort(): Promise<void> {
    for (const path of this.#blobs.added.splice(0)) await Deno.remove(path).catch(() => {});
    if (this.#newLayout) {
      await Deno.remove(join(this.#path, "oci-layout")).catch(() => {});
      await Deno.remove(join(this.#path, "blobs"), { recursive: true }).catch(() => {});
    }
  }
}

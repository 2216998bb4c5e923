/**
 * Index of an outer image archive: member name → byte range. Only headers are read (seeking over member data), so a 2
 * GB archive is indexed in a few hundred small reads and its blobs are then read in place.
 *
 * @module
 */
import { Oci2LxcError } from "../errors.ts";
import { type Member, type MemberTable, normaliseMemberName } from "./member.ts";

const BLOCK = 512;
const decoder = new TextDecoder();

/** Members of a tar file, indexed by normalised name. */
export class TarIndex implements MemberTable {
  readonly description: string;
  readonly #members = new Map<string, Member>();
  /** Symlink and hardlink members: name → the member they stand for (podman writes `<id>/layer.tar -> ../<hex>.tar`). */
  readonly #links = new Map<string, string>();

  private constructor(file: string) {
    this.description = `archive ${file}`;
  }

  /**
   * Index the tar at `file`. Throws when the file is not a tar or is truncated; the error names the file and the byte
   * offset.
   */
  static open(file: string): TarIndex {
    const index = new TarIndex(file);
    let handle: Deno.FsFile;
    try {
      handle = Deno.openSync(file, { read: true });
    } catch (cause) {
      throw new Oci2LxcError("image", `Cannot open ${file}: ${(cause as Error).message}`, { cause });
    }
    try {
      index.#scan(handle, file);
    } finally {
      handle.close();
    }
    return index;
  }

  get(name: string): Member | undefined {
    let n = normaliseMemberName(name);
    for (let hops = 0; hops < 8; hops++) {
      const member = this.#members.get(n);
      if (member) return member;
      const target = this.#links.get(n);
      if (target === undefined) return undefined;
      n = target;
    }
    return undefined; // a link loop
  }

  names(): string[] {
    return [...this.#members.keys()];
  }

  #scan(handle: Deno.FsFile, file: string): void {
    const fileSize = handle.statSync().size;
    const header = new Uint8Array(BLOCK);
    let offset = 0;
    let longName: string | undefined;
    let paxPath: string | undefined;
    let paxSize: number | undefined;
    let longLink: string | undefined;
    let paxLinkPath: string | undefined;
    let members = 0;
    while (offset + BLOCK <= fileSize) {
      handle.seekSync(offset, Deno.SeekMode.Start);
      readFully(handle, header, file, offset);
      if (header.every((b) => b === 0)) return; // end-of-archive marker
      if (!checksumOk(header)) {
        throw new Oci2LxcError(
          "image",
          `Cannot read ${file}: ${members === 0 ? "not a tar archive" : "damaged tar header"} at byte ${offset}`,
          { hint: "Pass an oci-archive, a docker-archive, or an OCI layout directory" },
        );
      }
      const type = String.fromCharCode(header[156] ?? 0);
      const headerSize = readNumber(header, 124, 12);
      const size = paxSize ?? headerSize;
      const dataStart = offset + BLOCK;
      const next = dataStart + Math.ceil(size / BLOCK) * BLOCK;
      if (dataStart + size > fileSize) {
        throw new Oci2LxcError(
          "image",
          `Cannot read ${file}: the archive is truncated (member at byte ${offset} needs ${size} bytes, ${
            fileSize - dataStart
          } remain)`,
          { hint: "Save or download the image again" },
        );
      }
      if (type === "x" || type === "g" || type === "L" || type === "K") {
        const data = new Uint8Array(size);
        handle.seekSync(dataStart, Deno.SeekMode.Start);
        readFully(handle, data, file, dataStart);
        if (type === "L") longName = decoder.decode(data).replace(/\0+$/, "");
        if (type === "K") longLink = decoder.decode(data).replace(/\0+$/, "");
        if (type === "x") {
          const records = parsePax(data);
          paxPath = records.get("path") ?? paxPath;
          paxLinkPath = records.get("linkpath") ?? paxLinkPath;
          const s = records.get("size");
          if (s !== undefined) paxSize = Number(s);
        }
        offset = next;
        continue;
      }
      let name = longName ?? paxPath ?? headerName(header);
      longName = paxPath = undefined;
      paxSize = undefined;
      if (type === "0" || type === "\0" || type === "7") {
        name = normaliseMemberName(name);
        this.#members.set(name, { name, file, offset: dataStart, size });
      } else if (type === "1" || type === "2") {
        const target = paxLinkPath ?? longLink ?? cString(header, 157, 100);
        name = normaliseMemberName(name);
        // Hardlink targets are archive paths; symlink targets are relative to the link's folder.
        this.#links.set(name, type === "1" ? normaliseMemberName(target) : resolveLink(name, target));
      }
      longLink = paxLinkPath = undefined;
      members++;
      offset = next;
    }
  }
}

function readFully(handle: Deno.FsFile, into: Uint8Array, file: string, at: number): void {
  let got = 0;
  while (got < into.length) {
    const n = handle.readSync(into.subarray(got));
    if (n === null || n === 0) {
      throw new Oci2LxcError("image", `Cannot read ${file}: the archive is truncated at byte ${at + got}`, {
        hint: "Save or download the image again",
      });
    }
    got += n;
  }
}

function headerName(h: Uint8Array): string {
  const name = cString(h, 0, 100);
  const magic = decoder.decode(h.subarray(257, 263));
  if (magic === "ustar\0") {
    const prefix = cString(h, 345, 155);
    if (prefix) return `${prefix}/${name}`;
  }
  return name;
}

function cString(h: Uint8Array, start: number, length: number): string {
  const field = h.subarray(start, start + length);
  const end = field.indexOf(0);
  return decoder.decode(end < 0 ? field : field.subarray(0, end));
}

function readNumber(h: Uint8Array, start: number, length: number): number {
  const first = h[start] ?? 0;
  if (first & 0x80) {
    let value = first & 0x7f;
    for (let i = 1; i < length; i++) value = value * 256 + (h[start + i] ?? 0);
    return value;
  }
  const text = cString(h, start, length).trim();
  return text === "" ? 0 : parseInt(text, 8);
}

function checksumOk(h: Uint8Array): boolean {
  const stored = readNumber(h, 148, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 32 : h[i] ?? 0;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

function parsePax(data: Uint8Array): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space < 0) break;
    const length = parseInt(decoder.decode(data.subarray(at, space)), 10);
    if (!(length > 0)) break;
    const record = decoder.decode(data.subarray(space + 1, at + length - 1));
    const eq = record.indexOf("=");
    if (eq > 0) records.set(record.slice(0, eq), record.slice(eq + 1));
    at += length;
  }
  return records;
}

/** The archive path a symlink member points at (`a/b -> ../c` is `c`); never above the archive root. */
function resolveLink(name: string, target: string): string {
  const parts = target.startsWith("/") ? [] : name.split("/").slice(0, -1);
  for (const part of target.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return parts.join("/");
}

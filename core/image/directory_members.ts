/**
 * The files of an OCI layout directory, read in place.
 *
 * @module
 */
import { join } from "node:path";
import { type Member, type MemberTable, normaliseMemberName } from "./member.ts";

/** Members of a directory: each regular file below it. */
export class DirectoryMembers implements MemberTable {
  readonly description: string;
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
    this.description = `directory ${root}`;
  }

  get(name: string): Member | undefined {
    const n = normaliseMemberName(name);
    if (n.split("/").includes("..")) return undefined; // a document must not reach outside the layout
    const file = join(this.#root, n);
    try {
      const info = Deno.statSync(file);
      if (!info.isFile) return undefined;
      return { name: n, file, offset: 0, size: info.size };
    } catch {
      return undefined;
    }
  }

  names(): string[] {
    const out: string[] = [];
    const walk = (dir: string, prefix: string) => {
      for (const e of Deno.readDirSync(dir)) {
        const rel = prefix ? `${prefix}/${e.name}` : e.name;
        if (e.isDirectory) walk(join(dir, e.name), rel);
        else if (e.isFile) out.push(rel);
      }
    };
    walk(this.#root, "");
    return out.sort();
  }
}

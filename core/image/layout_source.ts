/**
 * An OCI image layout (an archive's members or a directory's files) as an {@linkcode ImageSource}: every manifest and
 * blob is the file `blobs/<algorithm>/<hex>`, read in place.
 *
 * @module
 */
import { parseDigest } from "../digest.ts";
import { Oci2LxcError } from "../errors.ts";
import type { Blob } from "./blob.ts";
import { readBlobBytes } from "./blob_reader.ts";
import type { Descriptor } from "./descriptor.ts";
import type { ImageSource } from "./image_source.ts";
import { localBlob } from "./local_blob.ts";
import type { Member, MemberTable } from "./member.ts";

/** The blobs of an OCI layout. */
export class LayoutSource implements ImageSource {
  readonly description: string;
  readonly #members: MemberTable;

  constructor(members: MemberTable) {
    this.#members = members;
    this.description = members.description;
  }

  manifest(descriptor: Descriptor, what: string): Promise<Uint8Array> {
    return readBlobBytes(this.blob(descriptor, what));
  }

  blob(descriptor: Descriptor, what: string): Blob {
    return localBlob(this.#member(descriptor.digest, what), descriptor);
  }

  #member(digest: string, what: string): Member {
    const d = parseDigest(digest, what);
    const member = this.#members.get(`blobs/${d.algorithm}/${d.hex}`);
    if (!member) {
      throw new Oci2LxcError(
        "image",
        `Cannot find ${what} ${digest} in ${this.description}: blobs/${d.algorithm}/${d.hex} is missing`,
        { hint: "The image was saved incompletely; save or download it again" },
      );
    }
    return member;
  }
}

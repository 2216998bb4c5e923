/**
 * A blob whose bytes lie in a local file: a member of an archive or a file of a layout directory, read in place.
 *
 * @module
 */
import type { Blob } from "./blob.ts";
import type { Member } from "./member.ts";
import { rangeStream } from "./range_reader.ts";

/** What a descriptor says about the blob; all of it optional (a legacy docker-archive names no digest or size). */
export interface LocalBlobInfo {
  digest?: string | undefined;
  size?: number | undefined;
  mediaType?: string | undefined;
}

/** The blob at `member` of an archive or directory; the member's name names it in messages. */
export function localBlob(member: Member, info: LocalBlobInfo): Blob {
  const local = { file: member.file, offset: member.offset, size: member.size };
  const name = member.name;
  return {
    name,
    digest: info.digest,
    size: info.size,
    mediaType: info.mediaType ?? "",
    local,
    open: () => Promise.resolve(rangeStream(local, name)),
  };
}

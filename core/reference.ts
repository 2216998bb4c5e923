/**
 * Image references in the containers-transports syntax skopeo and podman users write: `oci-archive:PATH[:REF]`,
 * `docker-archive:PATH[:REF]`, `oci:DIR[:REF]`, `docker://…` (a registry; its name is parsed by
 * core/registry/reference.ts), or a bare path whose kind is found from its content.
 *
 * @module
 */
import { Oci2LxcError } from "./errors.ts";
import { pathExists } from "./path_exists.ts";

/** The transports we read. `auto` means a bare path: detect by content; `docker` a registry. */
export type Transport = "oci-archive" | "docker-archive" | "oci" | "docker" | "auto";

/** A parsed image reference. */
export interface ImageReference {
  readonly transport: Transport;
  /** File or directory on disk; for `docker`, the reference after `docker://`. */
  readonly path: string;
  /** Tag, ref name, digest or `@N` selecting one image inside; undefined for the only one. */
  readonly ref: string | undefined;
  /** What the user wrote. */
  readonly text: string;
}

const TRANSPORTS = ["oci-archive", "docker-archive", "oci"] as const;

/**
 * Parse an image reference. A path may itself contain `:`: the longest prefix that exists on disk is the path, the rest
 * the ref.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseReference } from "./reference.ts";
 * const r = parseReference("oci-archive:/no/such.tar:latest");
 * assert(r.path === "/no/such.tar" && r.ref === "latest");
 * ```
 */
export function parseReference(text: string): ImageReference {
  if (text.trim() === "") throw new Oci2LxcError("usage", "Cannot parse image reference: it is empty");
  const transport = TRANSPORTS.find((t) => text.startsWith(`${t}:`));
  if (!transport) {
    if (text.startsWith("docker://")) {
      return { transport: "docker", path: text.slice("docker://".length), ref: undefined, text };
    }
    if (/^[a-z][a-z0-9+.-]*:\/\//.test(text)) {
      throw new Oci2LxcError("usage", `Cannot read image "${text}": registries are read only as docker://`, {
        hint: "Write docker://[HOST[:PORT]/]NAME[:TAG][@DIGEST], e.g. docker://debian:12",
      });
    }
    return { transport: "auto", path: text, ref: undefined, text };
  }
  const rest = text.slice(transport.length + 1);
  if (rest === "") throw new Oci2LxcError("usage", `Cannot parse image reference "${text}": the path is empty`);
  if (pathExists(rest)) return { transport, path: rest, ref: undefined, text };
  // Try each ':' from the left: the first split whose left side exists wins.
  for (let i = rest.indexOf(":"); i > 0; i = rest.indexOf(":", i + 1)) {
    const path = rest.slice(0, i);
    if (pathExists(path)) return { transport, path, ref: rest.slice(i + 1) || undefined, text };
  }
  const colon = rest.indexOf(":");
  if (colon > 0) return { transport, path: rest.slice(0, colon), ref: rest.slice(colon + 1) || undefined, text };
  return { transport, path: rest, ref: undefined, text };
}

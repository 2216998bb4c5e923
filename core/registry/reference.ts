/**
 * Registry references as skopeo and podman users write them: `docker://[HOST[:PORT]/]NAME[:TAG][@DIGEST]`, normalised
 * with Docker Hub's rules exactly as github.com/distribution/reference's `ParseNormalizedNamed` (which containers/image
 * uses) does: a first path component is a registry host only when the name has more than one component and that first
 * one is `localhost`, contains `.` or `:`, or has an uppercase letter; otherwise the registry is `docker.io`, and a
 * one-component name on Docker Hub gets `library/`. No tag and no digest means `:latest`.
 *
 * @module
 */
import { parseDigest } from "../digest.ts";
import { Oci2LxcError, quoteForMessage } from "../errors.ts";

/** The Docker Hub name every familiar reference normalises to. */
export const DOCKER_HUB = "docker.io";
/** The host that serves Docker Hub's registry API (`docker.io` itself only redirects web browsers). */
export const DOCKER_HUB_ENDPOINT = "registry-1.docker.io";
const LEGACY_DOCKER_HUB = "index.docker.io";
const DEFAULT_TAG = "latest";
/** distribution's NameTotalLengthMax: registry and repository together. */
const NAME_MAX = 255;

/** A parsed `docker://` reference. */
export interface RegistryReference {
  /** The registry as named (`docker.io`, `quay.io`, `127.0.0.1:5000`, `[::1]:5000`); the key for credentials. */
  readonly registry: string;
  /** The repository inside it: `library/busybox`. */
  readonly repository: string;
  /** The tag: the one written, or `latest` when neither tag nor digest was; undefined for `NAME@DIGEST`. */
  readonly tag: string | undefined;
  /** The manifest digest; when given it decides (a tag beside it is only shown) and the manifest is checked. */
  readonly digest: string | undefined;
  /** What the user wrote. */
  readonly text: string;
}

// The grammar of github.com/distribution/reference (regexp.go), anchored.
const ALPHANUMERIC = "[a-z0-9]+";
const SEPARATOR = "(?:[._]|__|[-]+)";
const PATH_COMPONENT = `${ALPHANUMERIC}(?:${SEPARATOR}${ALPHANUMERIC})*`;
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const HOST = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])`;
const DOMAIN_AND_PORT = `${HOST}(?::[0-9]+)?`;
const TAG = "[\\w][\\w.-]{0,127}";
const DIGEST = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
const REFERENCE = new RegExp(
  `^((?:${DOMAIN_AND_PORT}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::(${TAG}))?(?:@(${DIGEST}))?$`,
);
const IDENTIFIER = /^[a-f0-9]{64}$/;

/**
 * Split a name into registry and repository the way distribution's `splitDockerDomain` does.
 */
function splitRegistry(name: string): [string, string] {
  const slash = name.indexOf("/");
  // One component ("ubuntu", "ubuntu:22.04", even "localhost") is always a Docker Hub official image.
  if (slash < 0) return [DOCKER_HUB, `library/${name}`];
  const first = name.slice(0, slash);
  let rest = name.slice(slash + 1);
  let registry: string;
  if (first === "localhost" || /[.:]/.test(first) || first.toLowerCase() !== first) registry = first;
  else [registry, rest] = [DOCKER_HUB, name];
  if (registry === LEGACY_DOCKER_HUB) registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && !rest.includes("/")) rest = `library/${rest}`;
  return [registry, rest];
}

/**
 * Parse `docker://[HOST[:PORT]/]NAME[:TAG][@DIGEST]`.
 *
 * @param text the reference as the user wrote it, with its `docker://` prefix
 * @returns the normalised reference
 * @throws {Oci2LxcError} code "usage" when it is not a valid reference
 *
 * @example Docker Hub's familiar names
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseRegistryReference } from "./reference.ts";
 * const r = parseRegistryReference("docker://busybox");
 * assert(r.registry === "docker.io" && r.repository === "library/busybox" && r.tag === "latest");
 * ```
 */
export function parseRegistryReference(text: string): RegistryReference {
  const fail = (reason: string, hint = "Write docker://[HOST[:PORT]/]NAME[:TAG][@DIGEST], e.g. docker://debian:12") => {
    throw new Oci2LxcError("usage", `Cannot parse image reference ${quoteForMessage(text)}: ${reason}`, { hint });
  };
  if (!text.startsWith("docker://")) return fail("it does not start with docker://");
  const body = text.slice("docker://".length);
  if (body === "") return fail("the name is empty");
  if (IDENTIFIER.test(body)) return fail("a 64-digit hexadecimal string is an image ID, not a name");
  const [registry, remainder] = splitRegistry(body);
  const colon = remainder.indexOf(":");
  const remote = colon < 0 ? remainder : remainder.slice(0, colon);
  if (remote.toLowerCase() !== remote) return fail(`the repository name ${quoteForMessage(remote)} must be lowercase`);
  const full = `${registry}/${remainder}`;
  const match = REFERENCE.exec(full);
  if (!match) {
    return fail(
      REFERENCE.test(full.toLowerCase()) ? "the repository name must be lowercase" : "it is not a valid reference",
    );
  }
  const [, name = "", tag, digest] = match;
  if (name.length > NAME_MAX) return fail(`the name is longer than ${NAME_MAX} characters`);
  if (digest !== undefined) {
    try {
      parseDigest(digest, "the reference");
    } catch (err) {
      return fail(err instanceof Oci2LxcError ? err.message.replace(/^Cannot parse /, "the digest ") : String(err));
    }
  }
  const repository = name.slice(registry.length + 1);
  return { registry, repository, tag: tag ?? (digest === undefined ? DEFAULT_TAG : undefined), digest, text };
}

/**
 * The host (and port) that serves a registry's API: Docker Hub's `docker.io` is served at `registry-1.docker.io`,
 * every other registry at its own name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { registryEndpoint } from "./reference.ts";
 * assert.equal(registryEndpoint("docker.io"), "registry-1.docker.io");
 * assert.equal(registryEndpoint("127.0.0.1:5000"), "127.0.0.1:5000");
 * ```
 */
export function registryEndpoint(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_ENDPOINT : registry;
}

/**
 * The manifest to ask the registry for: the digest when there is one (it decides), else the tag.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { manifestReference, parseRegistryReference } from "./reference.ts";
 * assert.equal(manifestReference(parseRegistryReference("docker://quay.io/a/b:1")), "1");
 * ```
 */
export function manifestReference(reference: RegistryReference): string {
  return reference.digest ?? reference.tag ?? DEFAULT_TAG;
}

/**
 * The canonical text of a reference, for messages and reports: `docker.io/library/busybox:latest`,
 * `quay.io/a/b@sha256:…` (a tag beside a digest is kept, as written: `name:tag@digest`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatRegistryReference, parseRegistryReference } from "./reference.ts";
 * assert.equal(formatRegistryReference(parseRegistryReference("docker://busybox")), "docker.io/library/busybox:latest");
 * ```
 */
export function formatRegistryReference(reference: RegistryReference): string {
  const tag = reference.tag === undefined ? "" : `:${reference.tag}`;
  const digest = reference.digest === undefined ? "" : `@${reference.digest}`;
  return `${reference.registry}/${reference.repository}${tag}${digest}`;
}

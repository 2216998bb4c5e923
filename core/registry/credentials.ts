/**
 * A username and secret for one registry, and where they came from. The secret lives in a private field: `String()`,
 * `JSON.stringify()`, `Deno.inspect()`/`console.log()` and Node's `util.inspect()` all show `<redacted>` in its place,
 * so no error message, `--debug` line or report can print it by accident.
 *
 * @module
 */
import { Oci2LxcError } from "../errors.ts";

const REDACTED = "<redacted>";

/**
 * Credentials for a registry. `source` names where they came from (`--creds`, a file path, a credential helper) for
 * messages; it is never the secret.
 *
 * @example The secret never shows
 * ```ts
 * import assert from "node:assert/strict";
 * import { Credentials } from "./credentials.ts";
 * const c = new Credentials("alice", "s3cret", "--creds");
 * assert(!String(c).includes("s3cret") && !JSON.stringify(c).includes("s3cret"));
 * assert(!Deno.inspect(c).includes("s3cret"));
 * ```
 */
export class Credentials {
  /** The user name (not a secret: registries show it in their logs). Empty for a token-only helper answer. */
  readonly username: string;
  /** Where these credentials came from, for messages: `--creds`, `/root/.docker/config.json`, `docker-credential-pass`. */
  readonly source: string;
  readonly #secret: string;

  constructor(username: string, secret: string, source: string) {
    this.username = username;
    this.#secret = secret;
    this.source = source;
  }

  /** The password or token; read it only to build an `Authorization` header. */
  revealSecret(): string {
    return this.#secret;
  }

  /** `Basic base64(user:secret)` for an `Authorization` header. */
  basicAuthorization(): string {
    const bytes = new TextEncoder().encode(`${this.username}:${this.#secret}`);
    return `Basic ${btoa(String.fromCharCode(...bytes))}`;
  }

  /** `user:<redacted> (from SOURCE)`. */
  toString(): string {
    return `${this.username}:${REDACTED} (from ${this.source})`;
  }

  /** What `JSON.stringify` writes: the secret redacted. */
  toJSON(): { username: string; secret: string; source: string } {
    return { username: this.username, secret: REDACTED, source: this.source };
  }

  [Symbol.for("Deno.customInspect")](): string {
    return `Credentials { ${this.toString()} }`;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `Credentials { ${this.toString()} }`;
  }
}

/**
 * Parse `--creds USER[:PASSWORD]` the way skopeo does: the first `:` ends the user name. Without a password, `password`
 * (what the CLI read for `--password-stdin`) is used.
 *
 * @throws {Oci2LxcError} code "usage" when the user name is empty or no password is given anywhere
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCreds } from "./credentials.ts";
 * assert.equal(parseCreds("alice:pa:ss").revealSecret(), "pa:ss");
 * assert.equal(parseCreds("alice", "from-stdin").revealSecret(), "from-stdin");
 * ```
 */
export function parseCreds(text: string, password?: string): Credentials {
  const colon = text.indexOf(":");
  const username = colon < 0 ? text : text.slice(0, colon);
  if (username === "") {
    throw new Oci2LxcError("usage", "Cannot use --creds: the user name is empty", {
      hint: "Write --creds USER:PASSWORD, or --creds USER with --password-stdin",
    });
  }
  const secret = colon < 0 ? password : text.slice(colon + 1);
  if (secret === undefined) {
    throw new Oci2LxcError("usage", `Cannot use --creds for user ${JSON.stringify(username)}: no password given`, {
      hint: "Write --creds USER:PASSWORD, or give the password on standard input with --password-stdin",
    });
  }
  return new Credentials(username, secret, "--creds");
}

/**
 * The registry options of `convert`, `inspect`, `verify` and `pull`, as skopeo and podman spell them: `--creds
 * USER[:PASSWORD]`, `--password-stdin`, `--authfile FILE`, `--cert-dir DIR`, `--tls-verify=false`. The specs and
 * checks are here so every command parses them the same way.
 *
 * @module
 */
import { Oci2LxcError, quoteForMessage } from "../core/errors.ts";
import { type Credentials, parseCreds } from "../core/registry/credentials.ts";
import type { OptionSpec, ParsedArgs } from "./commands.ts";

/** The option specs, to spread into a command's `options`. */
export const REGISTRY_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  creds: {
    type: "string",
    value: "USER[:PASSWORD]",
    help: "Registry credentials (visible to ps: prefer USER with --password-stdin, or an auth file)",
  },
  "password-stdin": { type: "boolean", help: "With --creds USER: read the password from standard input" },
  authfile: { type: "string", value: "FILE", help: "Auth file to read credentials from (podman login's auth.json)" },
  "cert-dir": { type: "string", value: "DIR", help: "CA *.crt and client NAME.cert/NAME.key for the registry" },
  "tls-verify": {
    type: "string",
    value: "BOOL",
    help: "--tls-verify=false: accept any certificate and plain http (trusted networks only)",
  },
};

/** What the registry client takes from the command line. */
export interface RegistryOptionValues {
  creds?: Credentials;
  authfile?: string;
  certDir?: string;
  tlsVerify?: boolean;
}

/** Go's strconv.ParseBool words, which skopeo's `--tls-verify=` takes. */
const TRUE = ["1", "t", "T", "TRUE", "true", "True"];
const FALSE = ["0", "f", "F", "FALSE", "false", "False"];

/**
 * `--tls-verify=BOOL`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTlsVerify } from "./registry_options.ts";
 * assert(parseTlsVerify("false") === false && parseTlsVerify("true") === true);
 * ```
 */
export function parseTlsVerify(text: string): boolean {
  if (TRUE.includes(text)) return true;
  if (FALSE.includes(text)) return false;
  throw new Oci2LxcError("usage", `Cannot use --tls-verify ${quoteForMessage(text)}: give true or false`, {
    hint: "Write --tls-verify=false to accept any certificate and plain http; certificates are checked by default",
  });
}

/**
 * The password `--password-stdin` reads: all of standard input, one final line break removed (as podman login).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { passwordFromStdin } from "./registry_options.ts";
 * assert.equal(passwordFromStdin("s3cret\n"), "s3cret");
 * ```
 */
export function passwordFromStdin(text: string): string {
  return text.replace(/\r?\n$/, "");
}

/** All of standard input as text (for `--password-stdin`). */
export async function readStdinText(): Promise<string> {
  return await new Response(Deno.stdin.readable).text();
}

/**
 * Check the registry options and turn them into the client's values. `readStdin` is called only for
 * `--password-stdin`.
 *
 * @throws {Oci2LxcError} code "usage" for `--password-stdin` without `--creds USER` (or with a password in it), a
 *   `--creds` without a user, or a `--tls-verify` that is not a boolean
 */
export async function registryOptionValues(
  values: ParsedArgs["values"],
  readStdin: () => Promise<string>,
): Promise<RegistryOptionValues> {
  const result: RegistryOptionValues = {};
  const creds = values.creds;
  const fromStdin = values["password-stdin"] === true;
  if (fromStdin && typeof creds !== "string") {
    throw new Oci2LxcError("usage", "Cannot use --password-stdin without --creds USER", {
      hint: "Give the user name with --creds USER; the password then comes from standard input",
    });
  }
  if (typeof creds === "string") {
    if (fromStdin && creds.includes(":")) {
      throw new Oci2LxcError("usage", "Cannot use --password-stdin with a password in --creds", {
        hint: "Give --creds USER alone with --password-stdin, or drop --password-stdin",
      });
    }
    result.creds = parseCreds(creds, fromStdin ? passwordFromStdin(await readStdin()) : undefined);
  }
  if (typeof values.authfile === "string") result.authfile = values.authfile;
  if (typeof values["cert-dir"] === "string") result.certDir = values["cert-dir"];
  if (typeof values["tls-verify"] === "string") result.tlsVerify = parseTlsVerify(values["tls-verify"]);
  return result;
}

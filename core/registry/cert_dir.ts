/**
 * TLS material for one registry, as containers' `certs.d` lays it out (containers/image's tlsclientconfig): in the
 * directory, every `*.crt` is a CA certificate trusted in addition to the system's, and a `NAME.cert` with its
 * `NAME.key` is a client certificate. The directory is `--cert-dir DIR` when given, else the first of
 * `/etc/containers/certs.d/HOST[:PORT]/` and `/etc/docker/certs.d/HOST[:PORT]/` that exists.
 *
 * @module
 */
import { Oci2LxcError } from "../errors.ts";

/** The `certs.d` roots looked in when no `--cert-dir` is given, in order. */
export const SYSTEM_CERT_DIRS: readonly string[] = ["/etc/containers/certs.d", "/etc/docker/certs.d"];

/** Debian's bundle of the system's CA certificates (`update-ca-certificates` writes it). */
const SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";

/** What a TLS client needs beyond the defaults. */
export interface TlsMaterial {
  /** PEM texts of CA certificates, trusted in addition to Deno's built-in roots: the system's bundle and `*.crt`. */
  readonly caCerts: readonly string[];
  /** A client certificate chain (PEM) and its key, when the directory holds a `.cert`/`.key` pair. */
  readonly clientCert: { readonly cert: string; readonly key: string } | undefined;
  /** The `certs.d` directory used, for messages; undefined when none. */
  readonly dir: string | undefined;
}

function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

/**
 * The `certs.d` directory for `hostPort`: `certDir` when given, else the first system one that exists.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { certDirFor } from "./cert_dir.ts";
 * assert.equal(certDirFor("127.0.0.1:5000", { certDir: "/my/certs" }), "/my/certs");
 * ```
 */
export function certDirFor(
  hostPort: string,
  options: { certDir?: string | undefined; systemCertDirs?: readonly string[] | undefined } = {},
): string | undefined {
  if (options.certDir !== undefined) return options.certDir;
  return (options.systemCertDirs ?? SYSTEM_CERT_DIRS).map((root) => `${root}/${hostPort}`).find(isDirectory);
}

/**
 * Read the TLS material of `dir` (undefined: only the system's CAs).
 *
 * @throws {Oci2LxcError} code "registry" when the directory cannot be read, or a `.key` has no `.cert` (or the reverse)
 */
export function loadTlsMaterial(dir: string | undefined, explicit: boolean): TlsMaterial {
  const caCerts: string[] = [];
  try {
    caCerts.push(Deno.readTextFileSync(SYSTEM_CA_BUNDLE));
  } catch {
    // No system bundle: Deno's built-in roots still apply.
  }
  if (dir === undefined) return { caCerts, clientCert: undefined, dir };
  const fail = (reason: string): never => {
    throw new Oci2LxcError("registry", `Cannot read certificates from ${dir}: ${reason}`, {
      hint: explicit
        ? "Check --cert-dir: it holds CA certificates as *.crt and client certificates as NAME.cert with NAME.key"
        : `Fix ${dir}: it holds CA certificates as *.crt and client certificates as NAME.cert with NAME.key`,
    });
  };
  let names: string[];
  try {
    names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  } catch (err) {
    return fail(err instanceof Error ? err.message : String(err));
  }
  const read = (name: string) => {
    try {
      return Deno.readTextFileSync(`${dir}/${name}`);
    } catch (err) {
      return fail(`${name}: ${err instanceof Error ? err.message : err}`);
    }
  };
  let clientCert: TlsMaterial["clientCert"];
  for (const name of names) {
    if (name.endsWith(".crt")) caCerts.push(read(name));
    else if (name.endsWith(".cert")) {
      const key = `${name.slice(0, -".cert".length)}.key`;
      if (!names.includes(key)) fail(`client certificate ${name} has no key ${key}`);
      clientCert ??= { cert: read(name), key: read(key) };
    } else if (name.endsWith(".key")) {
      const cert = `${name.slice(0, -".key".length)}.cert`;
      if (!names.includes(cert)) fail(`key ${name} has no client certificate ${cert}`);
    }
  }
  return { caCerts, clientCert, dir };
}

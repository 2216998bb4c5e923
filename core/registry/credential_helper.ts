/**
 * Docker's credential helper protocol: `docker-credential-NAME get` reads the registry's server URL on standard input
 * and writes `{"ServerURL","Username","Secret"}` on standard output, or fails with "credentials not found".
 *
 * @module
 */
import { Oci2LxcError, quoteForMessage } from "../errors.ts";
import { Credentials } from "./credentials.ts";

/** The executable `docker-credential-NAME` on `path` (a `PATH` value), or undefined when there is none. */
function findOnPath(program: string, path: string): string | undefined {
  for (const dir of path.split(":")) {
    if (dir === "") continue;
    const candidate = `${dir}/${program}`;
    try {
      const info = Deno.statSync(candidate);
      if (info.isFile && ((info.mode ?? 0) & 0o111) !== 0) return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/**
 * Ask `docker-credential-NAME` for the credentials of `serverUrl`.
 *
 * @param helper the helper's NAME (`pass`, `secretservice`, `ecr-login`)
 * @param serverUrl what the helper is asked for: the registry's host, or Docker Hub's `https://index.docker.io/v1/`
 * @param where the file and key that named the helper, for messages
 * @param env the environment; its `PATH` finds the helper and the helper runs with it
 * @returns the credentials, or undefined when the helper has none for `serverUrl`
 * @throws {Oci2LxcError} code "registry" when the helper is missing, fails or answers something that is not JSON
 */
export async function credentialsFromHelper(
  helper: string,
  serverUrl: string,
  where: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<Credentials | undefined> {
  const program = `docker-credential-${helper}`;
  const fail = (reason: string, hint: string): never => {
    throw new Oci2LxcError(
      "registry",
      `Cannot get credentials for ${serverUrl} from ${program} (${where}): ${reason}`,
      {
        hint,
      },
    );
  };
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(helper)) {
    return fail(`the helper name ${quoteForMessage(helper)} is not a plain name`, `Fix the entry in ${where}`);
  }
  const path = findOnPath(program, env.PATH ?? "/usr/local/bin:/usr/bin:/bin");
  if (path === undefined) {
    return fail("it is not on PATH", `Install ${program}, or remove the entry from ${where}`);
  }
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) clean[k] = v;
  const child = new Deno.Command(path, {
    args: ["get"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: clean,
    clearEnv: true,
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(serverUrl)).catch(() => {});
  await writer.close().catch(() => {});
  const out = await child.output();
  const stdout = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    const said = `${stdout} ${new TextDecoder().decode(out.stderr)}`.trim();
    // The protocol's answer for "nothing stored for this server" (docker-credential-helpers' ErrCredentialsNotFound).
    if (/credentials not found/i.test(said)) return undefined;
    return fail(
      `it exited with code ${out.code}: ${quoteForMessage(said.split("\n")[0] ?? "", 200)}`,
      `Run "echo ${serverUrl} | ${program} get" to see what it says, or remove the entry from ${where}`,
    );
  }
  let answer: unknown;
  try {
    answer = JSON.parse(stdout);
  } catch {
    // The answer may hold a secret: never echo it.
    return fail("its answer is not JSON", `Check ${program}; it must print {"Username": …, "Secret": …}`);
  }
  const { Username, Secret } = (answer ?? {}) as { Username?: unknown; Secret?: unknown };
  if (typeof Username !== "string" || typeof Secret !== "string") {
    return fail("its answer has no Username and Secret strings", `Check ${program}`);
  }
  return new Credentials(Username, Secret, program);
}

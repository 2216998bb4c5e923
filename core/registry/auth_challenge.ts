/**
 * `WWW-Authenticate` challenges (RFC 7235): one header may hold several challenges, each an auth scheme followed by
 * comma-separated `name=value` parameters whose values are tokens or quoted strings with `\` escapes. A registry's
 * `Bearer realm="…",service="…",scope="…"` has commas inside its quoted scope, so splitting at commas is not enough.
 *
 * @module
 */

/** One challenge: the scheme in lower case (`bearer`, `basic`) and its parameters, names in lower case. */
export interface AuthChallenge {
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/**
 * Parse every challenge of one or more `WWW-Authenticate` header values. Malformed parts are skipped, never thrown:
 * what a registry sends is not the user's mistake, and a missing challenge is reported where it is needed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseAuthChallenges } from "./auth_challenge.ts";
 * const [c] = parseAuthChallenges('Bearer realm="https://a/token",scope="repository:x:pull,push"');
 * assert(c?.scheme === "bearer" && c.params.scope === "repository:x:pull,push");
 * ```
 */
export function parseAuthChallenges(header: string): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  let i = 0;
  const skip = (chars: RegExp) => {
    while (i < header.length && chars.test(header[i]!)) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < header.length && TCHAR.test(header[i]!)) i++;
    return header.slice(start, i);
  };
  const quoted = (): string => {
    let value = "";
    i++; // the opening quote
    while (i < header.length && header[i] !== '"') {
      if (header[i] === "\\" && i + 1 < header.length) i++;
      value += header[i];
      i++;
    }
    i++; // the closing quote, if any
    return value;
  };
  // Each round reads one challenge; every round consumes at least one character, so the loop ends.
  while (i < header.length) {
    skip(/[\s,]/);
    const scheme = token();
    if (scheme === "") {
      i++;
      continue;
    }
    const params: Record<string, string> = {};
    skip(/[ \t]/);
    // A token68 (`Basic dXNlcg==`) instead of parameters: a registry never sends one that we need; skip it.
    const token68 = /^[A-Za-z0-9\-._~+/]+=*[ \t]*(?:,|$)/.exec(header.slice(i))?.[0];
    if (token68 && !/^[^=]+=[^=,]/.test(header.slice(i))) i += token68.length;
    else {
      for (;;) {
        skip(/[ \t]/);
        const start = i;
        const name = token();
        skip(/[ \t]/);
        if (name === "" || header[i] !== "=") {
          // Not a parameter: the next challenge's scheme (or a token68, which we never need), read by the outer loop.
          i = start;
          break;
        }
        i++;
        skip(/[ \t]/);
        params[name.toLowerCase()] = header[i] === '"' ? quoted() : token();
        skip(/[ \t]/);
        if (header[i] !== ",") break;
        i++;
        skip(/[\s,]/);
      }
    }
    challenges.push({ scheme: scheme.toLowerCase(), params });
  }
  return challenges;
}

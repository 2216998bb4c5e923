/**
 * Where the cache lives and what the cache options say: root's /var/cache, XDG_CACHE_HOME (absolute only) or
 * ~/.cache for anyone else; `--cache-dir`, `--no-cache`, `--pull` and the combinations refused.
 */
import assert from "node:assert/strict";
import { defaultCacheDir, parsePullPolicy } from "../../core/cache/cache_dir.ts";
import { Oci2LxcError } from "../../core/errors.ts";
import { cacheOptionValues } from "../../cli/cache_options.ts";
import { mirrorOptionValues } from "../../cli/mirror_options.ts";

const env = (vars: Record<string, string>) => (name: string) => vars[name];

Deno.test("defaultCacheDir: /var/cache for root, XDG_CACHE_HOME when absolute, else ~/.cache", () => {
  assert.deepEqual(defaultCacheDir({ uid: 0, env: env({ XDG_CACHE_HOME: "/x" }) }), "/var/cache/oci2lxc");
  assert.deepEqual(defaultCacheDir({ uid: 1000, env: env({ XDG_CACHE_HOME: "/x/", HOME: "/h" }) }), "/x/oci2lxc");
  assert.deepEqual(
    defaultCacheDir({ uid: 1000, env: env({ XDG_CACHE_HOME: "rel", HOME: "/h" }) }),
    "/h/.cache/oci2lxc",
  );
  assert.throws(
    () => defaultCacheDir({ uid: 1000, env: env({}) }),
    (err) => err instanceof Oci2LxcError && err.message.includes("neither XDG_CACHE_HOME nor HOME"),
  );
});

Deno.test("cache options: --cache-dir, --no-cache, --pull, and the combinations that make no sense", () => {
  assert.deepEqual(cacheOptionValues({ "cache-dir": "/c", pull: "always" }).cache?.dir, "/c");
  assert.deepEqual(cacheOptionValues({ "cache-dir": "/c/" }).pull, "missing");
  assert.deepEqual(cacheOptionValues({ "no-cache": true }).cache, undefined);
  assert.throws(
    () => cacheOptionValues({ "no-cache": true, "cache-dir": "/c" }),
    (err) => err instanceof Oci2LxcError && err.message.includes("--no-cache with"),
  );
  assert.throws(
    () => cacheOptionValues({ "no-cache": true, pull: "never" }),
    (err) => err instanceof Oci2LxcError && err.message.includes("nothing to read"),
  );
  assert.throws(
    () => parsePullPolicy("sometimes"),
    (err) => err instanceof Oci2LxcError && err.message.includes("give always, missing or never"),
  );
});

Deno.test("mirror options: HOST[:PORT] mirrors in order, a URL refused", () => {
  assert.deepEqual(mirrorOptionValues({ "registry-mirror": ["a.lan:5000", "[::1]:5001"] }).registryMirrors, [
    "a.lan:5000",
    "[::1]:5001",
  ]);
  assert.deepEqual(mirrorOptionValues({ "registries-conf": "/r.conf" }).registriesConf, "/r.conf");
  assert.throws(
    () => mirrorOptionValues({ "registry-mirror": ["https://a.lan"] }),
    (err) => err instanceof Oci2LxcError && err.message.includes("not HOST[:PORT]"),
  );
});

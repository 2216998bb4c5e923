/**
 * Where the cache lives and what the cache options say: root's /var/cache, XDG_CACHE_HOME (absolute only) or
 * ~/.cache for anyone else; `--cache-dir`, `--no-cache`, `--pull` and the combinations refused.
 */
import { defaultCacheDir, parsePullPolicy } from "../../core/cache/cache_dir.ts";
import { Oci2LxcError } from "../../core/errors.ts";
import { cacheOptionValues } from "../../cli/cache_options.ts";
import { mirrorOptionValues } from "../../cli/mirror_options.ts";
import { assertEquals, assertThrows } from "../_helpers/assert.ts";

const env = (vars: Record<string, string>) => (name: string) => vars[name];

Deno.test("defaultCacheDir: /var/cache for root, XDG_CACHE_HOME when absolute, else ~/.cache", () => {
  assertEquals(defaultCacheDir({ uid: 0, env: env({ XDG_CACHE_HOME: "/x" }) }), "/var/cache/oci2lxc");
  assertEquals(defaultCacheDir({ uid: 1000, env: env({ XDG_CACHE_HOME: "/x/", HOME: "/h" }) }), "/x/oci2lxc");
  assertEquals(defaultCacheDir({ uid: 1000, env: env({ XDG_CACHE_HOME: "rel", HOME: "/h" }) }), "/h/.cache/oci2lxc");
  assertThrows(() => defaultCacheDir({ uid: 1000, env: env({}) }), Oci2LxcError, "neither XDG_CACHE_HOME nor HOME");
});

Deno.test("cache options: --cache-dir, --no-cache, --pull, and the combinations that make no sense", () => {
  assertEquals(cacheOptionValues({ "cache-dir": "/c", pull: "always" }).cache?.dir, "/c");
  assertEquals(cacheOptionValues({ "cache-dir": "/c/" }).pull, "missing");
  assertEquals(cacheOptionValues({ "no-cache": true }).cache, undefined);
  assertThrows(() => cacheOptionValues({ "no-cache": true, "cache-dir": "/c" }), Oci2LxcError, "--no-cache with");
  assertThrows(() => cacheOptionValues({ "no-cache": true, pull: "never" }), Oci2LxcError, "nothing to read");
  assertThrows(() => parsePullPolicy("sometimes"), Oci2LxcError, "give always, missing or never");
});

Deno.test("mirror options: HOST[:PORT] mirrors in order, a URL refused", () => {
  assertEquals(mirrorOptionValues({ "registry-mirror": ["a.lan:5000", "[::1]:5001"] }).registryMirrors, [
    "a.lan:5000",
    "[::1]:5001",
  ]);
  assertEquals(mirrorOptionValues({ "registries-conf": "/r.conf" }).registriesConf, "/r.conf");
  assertThrows(() => mirrorOptionValues({ "registry-mirror": ["https://a.lan"] }), Oci2LxcError, "not HOST[:PORT]");
});

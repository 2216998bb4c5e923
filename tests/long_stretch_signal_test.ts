/**
 * Ctrl-C during one long synchronous stretch (a tar entry 2,000 levels deep
 * takes a second or more of `mkdirat`): the next pause must deliver it. With
 * one timer turn it never did, and a conversion interrupted in such an entry
 * finished and exited 0 (issue 11 item 6). The signal is sent while the child
 * works, for sure: the child works until the parent's marker file exists.
 */
import assert from "node:assert/strict";

/** Run the child `rounds` times; per round, whether one pause after the stretch delivered the signal. */
async function rounds(n: number, pin: boolean): Promise<string[]> {
  const base = await Deno.makeTempDir({ prefix: "oci2lxc-stretch-" });
  const out: string[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const marker = `${base}/sent${i}`;
      const child = new URL("./_long_stretch_child.ts", import.meta.url).pathname;
      const deno = [Deno.execPath(), "run", "-A", child, marker];
      const proc = new Deno.Command(pin ? "taskset" : deno[0]!, {
        args: pin ? ["-c", "0", ...deno] : deno.slice(1),
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      const reader = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      for (let reads = 0; reads < 1000 && !text.includes("ready\n"); reads++) {
        const r = await reader.read();
        if (r.done) break;
        text += r.value;
      }
      Deno.kill(proc.pid, "SIGUSR2");
      await Deno.writeTextFile(marker, "");
      for (let reads = 0; reads < 1000; reads++) {
        const r = await reader.read();
        if (r.done) break;
        text += r.value;
      }
      await proc.status;
      out.push(text.trim().split("\n").pop() ?? "");
    }
  } finally {
    await Deno.remove(base, { recursive: true });
  }
  return out;
}

Deno.test("a signal sent during a long synchronous stretch is delivered by the next pause", async () => {
  assert.deepEqual(await rounds(4, false), ["seen", "seen", "seen", "seen"]);
});

Deno.test("... also when the process is pinned to one CPU", async () => {
  assert.deepEqual(await rounds(4, true), ["seen", "seen", "seen", "seen"]);
});

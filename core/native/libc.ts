/**
 * The slice of libc the rootfs writer needs, reached through `Deno.dlopen`.
 *
 * Deno's file APIs take JavaScript strings, so they cannot create a name that is not valid UTF-8, and they resolve
 * paths from the process root. The rootfs writer needs byte names and dirfd-relative calls, so it talks to libc
 * directly.
 *
 * Every wrapper returns what the system call returns, or `-errno` on failure; nothing here throws on a failed call.
 * Callers decide which errno values are expected and pass the others to {@linkcode check}, which throws a
 * {@linkcode LibcError} naming the call and the errno (`openat: ENOENT (No such file or directory)`). Path arguments
 * are byte arrays without a terminating NUL; the wrappers copy them into reused NUL-terminated buffers.
 *
 * Linux only (x86_64 and aarch64), glibc 2.33 or newer.
 *
 * Why one file of ~800 lines: every wrapper goes through the same private parts (the symbol table opened on first use,
 * the errno read right after the call, the retry of transient errors, the reused NUL-terminated argument buffers), and
 * splitting the wrappers by topic would make those parts exports that anything could call without the discipline.
 *
 * @module
 */

const isAarch64 = Deno.build.arch === "aarch64";

/** `AT_FDCWD`: resolve relative paths from the working directory. */
export const AT_FDCWD = -100;
/** Do not follow a symlink in the last component. */
export const AT_SYMLINK_NOFOLLOW = 0x100;
/** `unlinkat` flag: remove a directory. */
export const AT_REMOVEDIR = 0x200;
/** Operate on the dirfd itself when the path is empty. */
export const AT_EMPTY_PATH = 0x1000;

/** Open flags (asm-generic values; aarch64 differs for O_DIRECTORY and O_NOFOLLOW). */
export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_TRUNC = 0o1000;
export const O_DIRECTORY = isAarch64 ? 0o40000 : 0o200000;
export const O_NOFOLLOW = isAarch64 ? 0o100000 : 0o400000;
export const O_CLOEXEC = 0o2000000;
export const O_PATH = 0o10000000;

/** `open_how.resolve` flags for openat2. */
export const RESOLVE_NO_MAGICLINKS = 0x02;
export const RESOLVE_NO_SYMLINKS = 0x04;
export const RESOLVE_IN_ROOT = 0x10;

/** renameat2 flags. */
export const RENAME_NOREPLACE = 1;
export const RENAME_EXCHANGE = 2;

/** File type bits of `st_mode`. */
export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;

/** The `d_type` values from getdents64 that we tell apart. */
export const DT_UNKNOWN = 0;
export const DT_DIR = 4;

/** `openat2` has no glibc wrapper in 2.36; its number is the same on every architecture. */
const SYS_openat2 = 437;

/** The errno values this program names; others print as `errno N`. */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ETXTBSY: 26,
  EFBIG: 27,
  ENOSPC: 28,
  ESPIPE: 29,
  EROFS: 30,
  EMLINK: 31,
  ERANGE: 34,
  ENAMETOOLONG: 36,
  ENOSYS: 38,
  ENOTEMPTY: 39,
  ELOOP: 40,
  ENODATA: 61,
  EOVERFLOW: 75,
  EOPNOTSUPP: 95,
  EDQUOT: 122,
} as const;

const errnoNames = new Map<number, string>(
  Object.entries(Errno).map(([name, value]) => [value, name]),
);

const SYMBOLS = {
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
  // Results that are ssize_t are declared i32: every buffer here is far below 2 GiB and the low half of the return
  // register carries the value and -1.
  syscall: {
    parameters: ["i64", "i64", "buffer", "buffer", "u64"],
    result: "i32",
  },
  openat: { parameters: ["i32", "buffer", "i32", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  write: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  mkdirat: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  symlinkat: { parameters: ["buffer", "i32", "buffer"], result: "i32" },
  linkat: {
    parameters: ["i32", "buffer", "i32", "buffer", "i32"],
    result: "i32",
  },
  mknodat: { parameters: ["i32", "buffer", "u32", "u64"], result: "i32" },
  unlinkat: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  renameat2: {
    parameters: ["i32", "buffer", "i32", "buffer", "u32"],
    result: "i32",
  },
  fchownat: {
    parameters: ["i32", "buffer", "u32", "u32", "i32"],
    result: "i32",
  },
  fchown: { parameters: ["i32", "u32", "u32"], result: "i32" },
  fchmod: { parameters: ["i32", "u32"], result: "i32" },
  fchmodat: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  utimensat: { parameters: ["i32", "buffer", "buffer", "i32"], result: "i32" },
  futimens: { parameters: ["i32", "buffer"], result: "i32" },
  statx: {
    parameters: ["i32", "buffer", "i32", "u32", "buffer"],
    result: "i32",
  },
  readlinkat: {
    parameters: ["i32", "buffer", "buffer", "usize"],
    result: "i32",
  },
  getdents64: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  fsetxattr: {
    parameters: ["i32", "buffer", "buffer", "usize", "i32"],
    result: "i32",
  },
  setxattr: {
    parameters: ["buffer", "buffer", "buffer", "usize", "i32"],
    result: "i32",
  },
  lsetxattr: {
    parameters: ["buffer", "buffer", "buffer", "usize", "i32"],
    result: "i32",
  },
  getxattr: {
    parameters: ["buffer", "buffer", "buffer", "usize"],
    result: "i32",
  },
  lgetxattr: {
    parameters: ["buffer", "buffer", "buffer", "usize"],
    result: "i32",
  },
  listxattr: { parameters: ["buffer", "buffer", "usize"], result: "i32" },
  llistxattr: { parameters: ["buffer", "buffer", "usize"], result: "i32" },
  removexattr: { parameters: ["buffer", "buffer"], result: "i32" },
  geteuid: { parameters: [], result: "u32" },
} as const satisfies Deno.ForeignLibraryInterface;

type LibC = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
let symbols: LibC | undefined;

/** Open libc on first use, so importing this module needs no FFI permission. */
function S(): LibC {
  if (symbols === undefined) {
    symbols = Deno.dlopen("libc.so.6", SYMBOLS).symbols;
  }
  return symbols;
}
let errnoView: Deno.UnsafePointerView | undefined;

/** The calling thread's errno; read it right after the failing call. */
function errno(): number {
  if (errnoView === undefined) {
    // The JavaScript thread never changes, so the thread-local address is stable.
    errnoView = new Deno.UnsafePointerView(S().__errno_location()!);
  }
  return errnoView.getInt32();
}

/** How often a failed call that reported EINTR or EAGAIN is made again. */
const TRIES = 4;

/**
 * Whether a call that failed with `code` on try `attempt` (from 0) should be made again: EINTR by the book, and EAGAIN
 * because errno is read back in JavaScript after the call returned, and the runtime's own work on this thread in
 * between can overwrite it (a contended futex in a lock of V8 or of Deno's Rust side sets EAGAIN): a `statx` of a
 * missing name once reported EAGAIN in about twenty conversions of a 47k-entry image. A failed call changed nothing, so
 * making it again is safe; a call that really returns EAGAIN (openat2 under RESOLVE_IN_ROOT) still gets it back after
 * the last try.
 */
function transient(code: number, attempt: number): boolean {
  return (code === Errno.EINTR || code === Errno.EAGAIN) && attempt < TRIES - 1;
}

/** Make a libc call returning -1 and errno on failure: the result, or -errno (see {@linkcode transient}). */
function ret(call: () => number): number {
  for (let attempt = 0;; attempt++) {
    const result = call();
    if (result >= 0) return result;
    const code = errno();
    if (!transient(code, attempt)) return -code;
  }
}

/** The symbolic name of an errno value (`ENOENT`), or `errno N`. */
export function errnoName(code: number): string {
  return errnoNames.get(code) ?? `errno ${code}`;
}

/** The C library's description of an errno value. */
export function strerror(code: number): string {
  const ptr = S().strerror(code);
  return ptr === null ? `errno ${code}` : Deno.UnsafePointerView.getCString(ptr);
}

/** A failed libc call: names the call and the errno. */
export class LibcError extends Error {
  /** The C function that failed, e.g. `openat`. */
  readonly syscall: string;
  /** The positive errno value. */
  readonly errno: number;
  /** The errno's symbolic name, e.g. `ENOENT`. */
  readonly code: string;

  constructor(syscall: string, code: number, detail?: string) {
    const name = errnoName(code);
    super(
      `${syscall}${detail ? ` ${detail}` : ""}: ${name} (${strerror(code)})`,
    );
    this.name = "LibcError";
    this.syscall = syscall;
    this.errno = code;
    this.code = name;
  }
}

/**
 * Throw a {@linkcode LibcError} when `result` is a negative errno; return it otherwise.
 *
 * @example Checking a call
 * ```ts
 * import assert from "node:assert/strict";
 * import { check, close, LibcError } from "./libc.ts";
 * try {
 *   check(close(-1), "close");
 * } catch (err) {
 *   assert(err instanceof LibcError && err.code === "EBADF");
 * }
 * ```
 */
export function check(
  result: number,
  syscall: string,
  detail?: string,
): number {
  if (result < 0) throw new LibcError(syscall, -result, detail);
  return result;
}

// --- NUL-terminated copies ------------------------------------------------

/** Reused buffers for path arguments, one per argument position. */
const scratch: Uint8Array[] = [
  new Uint8Array(4096),
  new Uint8Array(4096),
  new Uint8Array(256),
];

function cstr(bytes: Uint8Array, slot: number): Uint8Array {
  let buf = scratch[slot]!;
  if (buf.length <= bytes.length) {
    buf = new Uint8Array(Math.max(bytes.length + 1, buf.length * 2));
    scratch[slot] = buf;
  }
  buf.set(bytes);
  buf[bytes.length] = 0;
  return buf;
}

const encoder = new TextEncoder();
const nameBuf = new Uint8Array(1024);

/** An xattr name as a NUL-terminated UTF-8 string in a reused buffer. */
function cname(name: string): Uint8Array {
  const { written } = encoder.encodeInto(
    name,
    nameBuf.subarray(0, nameBuf.length - 1),
  );
  if (written === undefined || written >= nameBuf.length - 1) {
    throw new RangeError(`xattr name too long: ${name}`);
  }
  nameBuf[written] = 0;
  return nameBuf;
}

const EMPTY = new Uint8Array(0);

// --- wrappers ---------------------------------------------------------------

/** `openat(2)`: fd or -errno. */
export function openat(
  dirfd: number,
  path: Uint8Array,
  flags: number,
  mode = 0,
): number {
  return ret(() => S().openat(dirfd, cstr(path, 0), flags | O_CLOEXEC, mode));
}

const howBuf = new BigUint64Array(3);
const howBytes = new Uint8Array(howBuf.buffer);

/** `openat2(2)` through `syscall(437, …)`: fd or -errno (-ENOSYS before Linux 5.6). */
export function openat2(
  dirfd: number,
  path: Uint8Array,
  flags: number,
  resolve: number,
  mode = 0,
): number {
  howBuf[0] = BigInt(flags | O_CLOEXEC);
  howBuf[1] = BigInt(mode);
  howBuf[2] = BigInt(resolve);
  return ret(() =>
    S().syscall(
      BigInt(SYS_openat2),
      BigInt(dirfd),
      cstr(path, 0),
      howBytes,
      24n,
    )
  );
}

/** `close(2)`. */
export function close(fd: number): number {
  // Never again on EINTR: Linux has closed the fd already.
  const r = S().close(fd);
  return r < 0 ? -errno() : r;
}

/** `read(2)`: bytes read or -errno. */
export function read(fd: number, buf: Uint8Array): number {
  return ret(() => S().read(fd, buf, BigInt(buf.length)));
}

/** `write(2)` once: bytes written or -errno. */
export function write(fd: number, buf: Uint8Array): number {
  return ret(() => S().write(fd, buf, BigInt(buf.length)));
}

/** Write all of `buf`, retrying short writes (and EINTR, see {@linkcode transient}); 0 or -errno. */
export function writeAll(fd: number, buf: Uint8Array): number {
  let off = 0;
  while (off < buf.length) {
    const view = off === 0 ? buf : buf.subarray(off);
    const n = ret(() => S().write(fd, view, BigInt(view.length)));
    if (n < 0) return n;
    off += n;
  }
  return 0;
}

/** `mkdirat(2)`. */
export function mkdirat(dirfd: number, path: Uint8Array, mode: number): number {
  return ret(() => S().mkdirat(dirfd, cstr(path, 0), mode));
}

/** `symlinkat(2)`: create `dirfd/path` holding `target` verbatim. */
export function symlinkat(
  target: Uint8Array,
  dirfd: number,
  path: Uint8Array,
): number {
  return ret(() => S().symlinkat(cstr(target, 1), dirfd, cstr(path, 0)));
}

/** `linkat(2)`. */
export function linkat(
  oldDirfd: number,
  oldPath: Uint8Array,
  newDirfd: number,
  newPath: Uint8Array,
  flags: number,
): number {
  return ret(() => S().linkat(oldDirfd, cstr(oldPath, 1), newDirfd, cstr(newPath, 0), flags));
}

/** `makedev(3)` for the 32-bit encoding the kernel accepts (major < 4096, minor < 2^20). */
export function makedev(major: number, minor: number): bigint {
  const maj = BigInt(major);
  const min = BigInt(minor);
  return ((maj & 0xfffff000n) << 32n) | ((maj & 0xfffn) << 8n) |
    ((min & 0xffffff00n) << 12n) | (min & 0xffn);
}

/** `mknodat(2)`; `mode` includes the file type bits. */
export function mknodat(
  dirfd: number,
  path: Uint8Array,
  mode: number,
  dev: bigint,
): number {
  return ret(() => S().mknodat(dirfd, cstr(path, 0), mode, dev));
}

/** `unlinkat(2)`. */
export function unlinkat(
  dirfd: number,
  path: Uint8Array,
  flags: number,
): number {
  return ret(() => S().unlinkat(dirfd, cstr(path, 0), flags));
}

/** `renameat2(2)`. */
export function renameat2(
  oldDirfd: number,
  oldPath: Uint8Array,
  newDirfd: number,
  newPath: Uint8Array,
  flags: number,
): number {
  return ret(() =>
    S().renameat2(
      oldDirfd,
      cstr(oldPath, 1),
      newDirfd,
      cstr(newPath, 0),
      flags,
    )
  );
}

/** `fchownat(2)`; pass an empty path with AT_EMPTY_PATH to act on an O_PATH fd. */
export function fchownat(
  dirfd: number,
  path: Uint8Array,
  uid: number,
  gid: number,
  flags: number,
): number {
  return ret(() => S().fchownat(dirfd, cstr(path, 0), uid, gid, flags));
}

/** `fchown(2)`. */
export function fchown(fd: number, uid: number, gid: number): number {
  return ret(() => S().fchown(fd, uid, gid));
}

/** `fchmod(2)`; not on O_PATH fds (use {@linkcode chmodFd}). */
export function fchmod(fd: number, mode: number): number {
  return ret(() => S().fchmod(fd, mode));
}

/** `fchmodat(2)` (follows symlinks: flags other than 0 are not supported by the kernel). */
export function fchmodat(
  dirfd: number,
  path: Uint8Array,
  mode: number,
  flags: number,
): number {
  return ret(() => S().fchmodat(dirfd, cstr(path, 0), mode, flags));
}

const procBuf = new Uint8Array(64);
const procPrefix = encoder.encode("/proc/self/fd/");
procBuf.set(procPrefix);

/** `/proc/self/fd/N` as a NUL-terminated string in a reused buffer. */
function procPath(fd: number): Uint8Array {
  const { written } = encoder.encodeInto(
    String(fd),
    procBuf.subarray(procPrefix.length),
  );
  procBuf[procPrefix.length + written] = 0;
  return procBuf;
}

/** `/proc/self/fd/N` as bytes, for callers that build their own calls. */
export function procFdPath(fd: number): Uint8Array {
  return encoder.encode(`/proc/self/fd/${fd}`);
}

/**
 * chmod the inode behind any fd, O_PATH ones included, through its `/proc/self/fd` magic link (which names the inode,
 * never a symlink's target).
 */
export function chmodFd(fd: number, mode: number): number {
  return ret(() => S().fchmodat(AT_FDCWD, procPath(fd), mode, 0));
}

const timesBuf = new DataView(new ArrayBuffer(32));
const timesBytes = new Uint8Array(timesBuf.buffer);

function setTimespec(offset: number, sec: number, nsec: number): void {
  timesBuf.setUint32(offset, sec >>> 0, true);
  timesBuf.setInt32(offset + 4, Math.floor(sec / 4294967296), true);
  timesBuf.setUint32(offset + 8, nsec, true);
  timesBuf.setUint32(offset + 12, 0, true);
}

/** A time as whole seconds plus nanoseconds, the shape utimensat takes. */
export interface Timespec {
  sec: number;
  nsec: number;
}

/** `utimensat(2)` with explicit access and modification times. */
export function utimensat(
  dirfd: number,
  path: Uint8Array,
  atime: Timespec,
  mtime: Timespec,
  flags: number,
): number {
  setTimespec(0, atime.sec, atime.nsec);
  setTimespec(16, mtime.sec, mtime.nsec);
  return ret(() => S().utimensat(dirfd, cstr(path, 0), timesBytes, flags));
}

/** `futimens(3)` with explicit access and modification times. */
export function futimens(fd: number, atime: Timespec, mtime: Timespec): number {
  setTimespec(0, atime.sec, atime.nsec);
  setTimespec(16, mtime.sec, mtime.nsec);
  return ret(() => S().futimens(fd, timesBytes));
}

/** The fields of `struct statx` this program reads. */
export interface Stat {
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  ino: number;
  dev: number;
  size: number;
  atime: Timespec;
  mtime: Timespec;
  rdevMajor: number;
  rdevMinor: number;
}

const statxBytes = new Uint8Array(256);
const statxView = new DataView(statxBytes.buffer);
const STATX_BASIC_STATS = 0x7ff;

function u64(offset: number): number {
  return statxView.getUint32(offset, true) +
    statxView.getUint32(offset + 4, true) * 4294967296;
}

function timespecAt(offset: number): Timespec {
  const lo = statxView.getUint32(offset, true);
  const hi = statxView.getInt32(offset + 4, true);
  return {
    sec: hi * 4294967296 + lo,
    nsec: statxView.getUint32(offset + 8, true),
  };
}

/** `statx(2)`: the stat, or -errno as a number. */
export function statx(
  dirfd: number,
  path: Uint8Array,
  flags: number,
): Stat | number {
  const r = ret(() => S().statx(dirfd, cstr(path, 0), flags, STATX_BASIC_STATS, statxBytes));
  if (r < 0) return r;
  return {
    nlink: statxView.getUint32(16, true),
    uid: statxView.getUint32(20, true),
    gid: statxView.getUint32(24, true),
    mode: statxView.getUint16(28, true),
    ino: u64(32),
    size: u64(40),
    atime: timespecAt(64),
    mtime: timespecAt(112),
    rdevMajor: statxView.getUint32(128, true),
    rdevMinor: statxView.getUint32(132, true),
    dev: statxView.getUint32(136, true) * 1048576 +
      statxView.getUint32(140, true),
  };
}

/** Only the file type and permission bits of `dirfd/path` (no symlink following), or -errno. */
export function lstatMode(dirfd: number, path: Uint8Array): number {
  const r = ret(() =>
    S().statx(dirfd, cstr(path, 0), AT_SYMLINK_NOFOLLOW, 1 /* STATX_TYPE */ | 2, /* MODE */ statxBytes)
  );
  if (r < 0) return r;
  return statxView.getUint16(28, true);
}

/** `fstat` of an fd (O_PATH included) through statx with AT_EMPTY_PATH. */
export function fstat(fd: number): Stat | number {
  return statx(fd, EMPTY, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
}

let linkBuf = new Uint8Array(4096);

/** `readlinkat(2)`: the link target as a fresh byte array, or -errno. */
export function readlinkat(
  dirfd: number,
  path: Uint8Array,
): Uint8Array | number {
  const p = cstr(path, 0);
  for (;;) {
    const n = ret(() => S().readlinkat(dirfd, p, linkBuf, BigInt(linkBuf.length)));
    if (n < 0) return n;
    if (n < linkBuf.length) return linkBuf.slice(0, n);
    linkBuf = new Uint8Array(linkBuf.length * 2);
  }
}

/** One directory entry from getdents64. */
export interface Dirent {
  name: Uint8Array;
  type: number;
  ino: number;
}

const direntBuf = new Uint8Array(65536);
const direntView = new DataView(direntBuf.buffer);

/**
 * All entries of the directory open as `fd` (not `.` and `..`), read with getdents64. The fd's offset is consumed.
 * Returns -errno on failure.
 */
export function readDir(fd: number): Dirent[] | number {
  const out: Dirent[] = [];
  for (;;) {
    const n = ret(() => S().getdents64(fd, direntBuf, BigInt(direntBuf.length)));
    if (n < 0) return n;
    if (n === 0) return out;
    let off = 0;
    while (off < n) {
      const reclen = direntView.getUint16(off + 16, true);
      const type = direntBuf[off + 18]!;
      let end = off + 19;
      const limit = off + reclen;
      while (end < limit && direntBuf[end] !== 0) end++;
      const name = direntBuf.slice(off + 19, end);
      const isDot = (name.length === 1 && name[0] === 0x2e) ||
        (name.length === 2 && name[0] === 0x2e && name[1] === 0x2e);
      if (!isDot) out.push({ name, type, ino: u64Dirent(off) });
      off += reclen;
    }
  }
}

function u64Dirent(off: number): number {
  return direntView.getUint32(off, true) +
    direntView.getUint32(off + 4, true) * 4294967296;
}

/** `fsetxattr(2)`. */
export function fsetxattr(
  fd: number,
  name: string,
  value: Uint8Array,
  flags = 0,
): number {
  return ret(() =>
    S().fsetxattr(
      fd,
      cname(name),
      value.length === 0 ? EMPTY : value,
      BigInt(value.length),
      flags,
    )
  );
}

/**
 * setxattr on the inode behind any fd through `/proc/self/fd/N`. For an O_PATH|O_NOFOLLOW fd of a symlink this sets the
 * attribute on the link.
 */
export function setxattrFd(
  fd: number,
  name: string,
  value: Uint8Array,
  flags = 0,
): number {
  return ret(() => S().setxattr(procPath(fd), cname(name), value, BigInt(value.length), flags));
}

/** removexattr on the inode behind any fd through `/proc/self/fd/N`. */
export function removexattrFd(fd: number, name: string): number {
  return ret(() => S().removexattr(procPath(fd), cname(name)));
}

let xattrBuf = new Uint8Array(65536);
const utf8 = new TextDecoder("utf-8");

/** The xattr names of the inode behind any fd (via `/proc/self/fd/N`), or -errno. */
export function listxattrFd(fd: number): string[] | number {
  for (;;) {
    const n = ret(() => S().listxattr(procPath(fd), xattrBuf, BigInt(xattrBuf.length)));
    if (n < 0) {
      const e = -n;
      if (e === Errno.ERANGE) {
        xattrBuf = new Uint8Array(xattrBuf.length * 2);
        continue;
      }
      return -e;
    }
    const names: string[] = [];
    let start = 0;
    for (let i = 0; i < n; i++) {
      if (xattrBuf[i] === 0) {
        if (i > start) names.push(utf8.decode(xattrBuf.subarray(start, i)));
        start = i + 1;
      }
    }
    return names;
  }
}

/** The value of one xattr of the inode behind any fd, or -errno. */
export function getxattrFd(fd: number, name: string): Uint8Array | number {
  for (;;) {
    const n = ret(() => S().getxattr(procPath(fd), cname(name), xattrBuf, BigInt(xattrBuf.length)));
    if (n < 0) {
      const e = -n;
      if (e === Errno.ERANGE) {
        xattrBuf = new Uint8Array(xattrBuf.length * 2);
        continue;
      }
      return -e;
    }
    return xattrBuf.slice(0, n);
  }
}

/** The effective uid of this process. */
export function geteuid(): number {
  return S().geteuid();
}

// --- locks and mount ids (appended for DEST's lock and the mount-safe removal) ---------------------

/** `flock(2)` operations. */
export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

const EXTRA_SYMBOLS = {
  flock: { parameters: ["i32", "i32"], result: "i32" },
  ftruncate: { parameters: ["i32", "i64"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

let extraSymbols: Deno.DynamicLibrary<typeof EXTRA_SYMBOLS>["symbols"] | undefined;

/** A second, small handle on libc, so the table above stays as it is. */
function X(): Deno.DynamicLibrary<typeof EXTRA_SYMBOLS>["symbols"] {
  if (extraSymbols === undefined) extraSymbols = Deno.dlopen("libc.so.6", EXTRA_SYMBOLS).symbols;
  return extraSymbols;
}

/** `flock(2)`: 0 or -errno (-EWOULDBLOCK, which is EAGAIN, when LOCK_NB finds the lock held). */
export function flock(fd: number, operation: number): number {
  // Not through ret(): EAGAIN is the answer "held by another", never a reason to try again here.
  for (let attempt = 0;; attempt++) {
    const r = X().flock(fd, operation);
    if (r >= 0) return r;
    const code = errno();
    if (code === Errno.EINTR && attempt < TRIES - 1) continue;
    return -code;
  }
}

/** `ftruncate(2)`. */
export function ftruncate(fd: number, length: number): number {
  return ret(() => X().ftruncate(fd, BigInt(length)));
}

/** `STATX_MNT_ID` (Linux 5.8): ask statx for the id of the mount a file is on. */
const STATX_MNT_ID = 0x1000;

/**
 * The id of the mount the inode behind `fd` is on (`stx_mnt_id`), or -errno.
 * Unlike `st_dev` it differs for a bind mount of a directory of the same
 * filesystem. -ENOSYS when the kernel does not report it.
 */
export function mountIdOf(fd: number): number {
  const r = ret(() => S().statx(fd, cstr(EMPTY, 0), AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, statxBytes));
  if (r < 0) return r;
  const mask = statxView.getUint32(0, true);
  if ((mask & STATX_MNT_ID) === 0) return -Errno.ENOSYS;
  return u64(144);
}

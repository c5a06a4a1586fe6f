// The one way to write a file the coordinator or a site relies on (checkpoints, study state,
// reports, predictions, spooled updates, co-signing state): write a temporary file in the same
// folder, fsync it, read it back and check its size and SHA-256, rename it over the target, fsync
// the folder. A reader therefore sees the old file or the complete new one, never a torn or short
// one, and a full disk (ENOSPC) or an I/O error (EIO) is an AtomicWriteError naming the path
// instead of a truncated file renamed into place.
import { createHash } from 'node:crypto';
import { open, rename, mkdir, unlink, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FlError } from '../errors/index.js';

export interface WrittenFile {
  readonly path: string;
  readonly bytes: number;
  /** SHA-256 (hex) of the bytes written. */
  readonly sha256: string;
}

/** A write that did not complete: the target is unchanged. `errno` is e.g. ENOSPC, EIO, EACCES. */
export class AtomicWriteError extends FlError {
  readonly path: string;
  readonly errno: string | undefined;
  constructor(path: string, message: string, errno: string | undefined, cause?: unknown) {
    // Not a user error: the disk, not the input, is to blame (exit 1 so a supervisor restarts it
    // after space is freed; the message says what happened and where).
    super('io.write', message, { cause, user: false });
    this.path = path;
    this.errno = errno;
  }
}

const ADVICE: Record<string, string> = {
  ENOSPC: 'no space left on the device; free space there, then restart (the previous file is kept)',
  EDQUOT: 'disk quota exceeded; raise the quota or free space, then restart (the previous file is kept)',
  EIO: 'I/O error from the device; check the disk (dmesg), then restart (the previous file is kept)',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied; make the folder writable by this user',
  EPERM: 'permission denied; make the folder writable by this user',
};

/** Wraps a file-system error into an AtomicWriteError that names the path and says what to do. */
export function writeError(path: string, err: unknown, what = 'cannot write'): AtomicWriteError {
  if (err instanceof AtomicWriteError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const advice = code && ADVICE[code] ? ADVICE[code] : (err as Error | undefined)?.message ?? String(err);
  return new AtomicWriteError(path, `${what} ${path}: ${code ? `${code}: ` : ''}${advice}`, code, err);
}

/** fsync a directory so a rename or a new file inside it is durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

let counter = 0;
const tempName = (path: string) => `${path}.tmp-${process.pid}-${++counter}`;

/** Test hook: called with each temporary file before it is verified (simulates a torn write). */
let beforeVerify: ((tmp: string) => Promise<void>) | null = null;
export function setBeforeVerifyHookForTests(hook: ((tmp: string) => Promise<void>) | null): void {
  beforeVerify = hook;
}

async function writeAll(fh: import('node:fs/promises').FileHandle, buf: Uint8Array): Promise<void> {
  // fh.write may write fewer bytes than asked (e.g. at the end of the space on a device).
  let off = 0;
  const step = 16 << 20;
  while (off < buf.length) {
    const { bytesWritten } = await fh.write(buf, off, Math.min(step, buf.length - off));
    if (bytesWritten <= 0) throw Object.assign(new Error('short write'), { code: 'ENOSPC' });
    off += bytesWritten;
  }
}

/** Reads a file back and returns its size and SHA-256. */
export async function fileDigest(path: string): Promise<{ bytes: number; sha256: string }> {
  const fh = await open(path, 'r');
  try {
    const h = createHash('sha256');
    const buf = Buffer.alloc(1 << 20);
    let bytes = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, bytes);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      bytes += bytesRead;
    }
    return { bytes, sha256: h.digest('hex') };
  } finally {
    await fh.close();
  }
}

/**
 * Renames a complete temporary file over `path` after checking it holds exactly `expect`
 * (size and SHA-256), then fsyncs the folder. The temporary file is removed on failure.
 */
export async function commitFile(
  tmp: string, path: string, expect: { bytes: number; sha256: string } | ((tmp: string) => Promise<string | null>),
): Promise<void> {
  try {
    if (beforeVerify) await beforeVerify(tmp);
    if (typeof expect === 'function') {
      // The caller's own check (e.g. a tensor file's size and content digest).
      const problem = await expect(tmp);
      if (problem) throw new AtomicWriteError(path, `cannot write ${path}: the written file does not read back as written (${problem}); the previous file is kept`, 'EIO');
    } else {
      const found = await fileDigest(tmp);
      if (found.bytes !== expect.bytes || found.sha256 !== expect.sha256) {
        throw new AtomicWriteError(path,
          `cannot write ${path}: the written file does not read back as written (expected ${expect.bytes} bytes, sha256 ${expect.sha256.slice(0, 16)}…; found ${found.bytes} bytes, sha256 ${found.sha256.slice(0, 16)}…); the previous file is kept`,
          'EIO');
      }
    }
    await rename(tmp, path);
    await fsyncDir(dirname(path));
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw writeError(path, err);
  }
}

/**
 * Atomically replaces `path` with `data` (one buffer, a string, or chunks written in order).
 * Resolves only when the new content is durable and verified; throws AtomicWriteError otherwise,
 * leaving the previous file (if any) in place.
 */
export async function atomicWriteFile(path: string, data: string | Uint8Array | readonly Uint8Array[], opts: { mode?: number } = {}): Promise<WrittenFile> {
  const chunks: readonly Uint8Array[] = typeof data === 'string' ? [Buffer.from(data, 'utf8')] : data instanceof Uint8Array ? [data] : data;
  const h = createHash('sha256');
  let bytes = 0;
  for (const c of chunks) {
    h.update(c);
    bytes += c.length;
  }
  const sha256 = h.digest('hex');
  const tmp = tempName(path);
  try {
    await mkdir(dirname(path), { recursive: true });
    const fh = await open(tmp, 'w', opts.mode ?? 0o644);
    try {
      for (const c of chunks) await writeAll(fh, c);
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw writeError(path, err);
  }
  await commitFile(tmp, path, { bytes, sha256 });
  return { path, bytes, sha256 };
}

/**
 * Checks before anything is written that `dir` can be created (or exists) and is writable:
 * the nearest existing ancestor must be a writable folder. Throws AtomicWriteError (user error)
 * naming the folder.
 */
export async function checkWritableDir(dir: string, what: string): Promise<void> {
  const { access, constants } = await import('node:fs/promises');
  let p = dir;
  for (;;) {
    let st;
    try {
      st = await stat(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw writeError(p, err, `${what}: cannot use`);
      const parent = dirname(p);
      if (parent === p) break;
      p = parent;
      continue;
    }
    if (!st.isDirectory()) throw new AtomicWriteError(p, `${what}: ${p} is not a folder`, 'ENOTDIR');
    try {
      await access(p, constants.W_OK | constants.X_OK);
    } catch (err) {
      const e = writeError(p, err, `${what}: cannot write in`);
      throw new FlError('io.not_writable', `${e.message}${p === dir ? '' : ` (to create ${dir})`}`, { cause: err });
    }
    return;
  }
}

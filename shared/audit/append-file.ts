// A durable append-only line file: every append is written and fsync'ed before it resolves.
//
// On open, a torn last line (bytes after the last newline: an append interrupted by a crash) is
// never silently dropped or accepted: its bytes are copied to a quarantine file (fsync'ed), the
// file is truncated back to the last complete line, and the caller is told what was moved so it
// can record the recovery in the log itself.
import { open, mkdir, readFile, type FileHandle } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { basename, dirname, join, relative } from 'node:path';
import { fsyncDir } from '../tensor/file.js';

export interface TornTail {
  /** 1-based line number the torn bytes would have been. */
  readonly line: number;
  readonly bytes: number;
  readonly sha256: string;
  /** Path of the quarantine file, relative to the directory of the log file. */
  readonly quarantinedTo: string;
}

export class AppendOnlyFile {
  private constructor(
    readonly path: string,
    private fh: FileHandle | null,
    private bytes: number,
  ) {}

  /**
   * Opens (creating if needed) `path` for appending. Returns the complete content (ending in a
   * newline or empty) and the torn tail that was quarantined, if any.
   */
  static async open(path: string): Promise<{ file: AppendOnlyFile; content: Buffer; torn: TornTail | null }> {
    await mkdir(dirname(path), { recursive: true });
    let content: Buffer;
    let existed = true;
    try {
      content = await readFile(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      content = Buffer.alloc(0);
      existed = false;
    }
    let torn: TornTail | null = null;
    const end = content.lastIndexOf(0x0a) + 1;
    if (end < content.length) {
      const tail = content.subarray(end);
      const line = content.subarray(0, end).reduce((n, b) => (b === 0x0a ? n + 1 : n), 0) + 1;
      const sha256 = createHash('sha256').update(tail).digest('hex');
      const qdir = join(dirname(path), 'torn');
      await mkdir(qdir, { recursive: true });
      const qpath = join(qdir, `${basename(path)}.line-${line}.${Date.now()}.torn`);
      const q = await open(qpath, 'wx', 0o644);
      try {
        await q.write(tail);
        await q.sync();
      } finally {
        await q.close();
      }
      await fsyncDir(qdir);
      const t = await open(path, 'r+');
      try {
        await t.truncate(end);
        await t.sync();
      } finally {
        await t.close();
      }
      content = content.subarray(0, end);
      torn = { line, bytes: tail.length, sha256, quarantinedTo: relative(dirname(path), qpath) };
    }
    const fh = await open(path, 'a', 0o644);
    if (!existed) await fsyncDir(dirname(path));
    return { file: new AppendOnlyFile(path, fh, content.length), content, torn };
  }

  get size(): number {
    return this.bytes;
  }

  /** Appends the lines (each without newline) in one write, then fsyncs. */
  async appendLines(lines: readonly string[]): Promise<void> {
    if (!this.fh) throw new Error(`${this.path}: closed`);
    for (const l of lines) if (l.includes('\n')) throw new Error(`${this.path}: a line may not contain a newline`);
    const buf = Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8');
    let off = 0;
    while (off < buf.length) {
      const { bytesWritten } = await this.fh.write(buf, off, buf.length - off);
      off += bytesWritten;
    }
    await this.fh.sync();
    this.bytes += buf.length;
  }

  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    await fh?.close();
  }
}

#!/usr/bin/env node
// Generates the TypeScript protocol code (shared/protocol/gen/) from proto/ with buf + ts-proto.
// buf ships as one npm package per platform; the registry this project installs from carries the
// Linux builds only, so package.json lists those as optional dependencies (the meta package
// @bufbuild/buf would pull platform packages the registry does not have and break `npm ci`).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, delimiter } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arch = { x64: 'x64', arm64: 'aarch64' }[process.arch];
const candidates = [
  process.env.FL_BUF,
  arch && join(root, 'node_modules', '@bufbuild', `buf-${process.platform}-${arch}`, 'bin', 'buf'),
  join(root, 'node_modules', '.bin', 'buf'),
].filter(Boolean);
const buf = candidates.find((p) => existsSync(p));
if (!buf) {
  console.error(`gen: no buf binary for ${process.platform}-${process.arch}; install @bufbuild/buf (or set FL_BUF to a buf binary)`);
  process.exit(1);
}
const env = { ...process.env, PATH: `${join(root, 'node_modules', '.bin')}${delimiter}${process.env.PATH ?? ''}` };
const r = spawnSync(buf, ['generate'], { cwd: root, env, stdio: 'inherit' });
process.exit(r.status ?? 1);

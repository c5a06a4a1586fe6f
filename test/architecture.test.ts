// Package boundaries are enforced by the build: a forbidden import fails `tsc -b` (project
// references) and scripts/check-boundaries.mjs (direct references + the fixed policy). Each case
// compiles a scratch project with exactly the references of the package it stands in for; an
// allowed import in the same set-up compiles, so the failure is the rule, not the set-up.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
// @ts-expect-error: a plain .mjs build script without type declarations
import { checkBoundaries } from '../scripts/check-boundaries.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const check = checkBoundaries as (root: string, extra?: { path: string; content: string }[]) => string[];

/** Compiles `source` as a file of a scratch project carrying `pkg`'s references; returns tsc's output ('' = ok). */
function compileAs(pkg: string, source: string): string {
  const cfg = JSON.parse(readFileSync(join(ROOT, pkg, 'tsconfig.json'), 'utf8').replace(/^\s*\/\/.*$/gm, '')) as { references?: { path: string }[] };
  mkdirSync(join(ROOT, '.scratch'), { recursive: true }); // inside the repo: node_modules (and @types/node) resolve
  const dir = mkdtempSync(join(ROOT, '.scratch', 'boundary-'));
  try {
    writeFileSync(join(dir, 'probe.ts'), source.replaceAll('@ROOT@', ROOT));
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      extends: join(ROOT, 'tsconfig.base.json'),
      // rootDir is the repository, so whatever the probe pulls in is emitted under the scratch
      // outDir, never beside the sources.
      compilerOptions: { rootDir: ROOT, outDir: join(dir, 'out'), tsBuildInfoFile: join(dir, 'out', 'b.tsbuildinfo') },
      files: ['probe.ts'],
      references: (cfg.references ?? []).map((r) => ({ path: resolve(ROOT, pkg, r.path) })),
    }));
    try {
      execFileSync(process.execPath, [TSC, '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8', cwd: ROOT });
      return '';
    } catch (err) {
      return String((err as { stdout?: string }).stdout ?? err);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('package boundaries', () => {
  it('the tree as committed has no forbidden import', () => {
    expect(check(ROOT)).toEqual([]);
  });

  it('site-agent importing coordinator fails to compile; importing shared/tensor compiles', () => {
    expect(compileAs('site-agent', `import { tensorSetDigest } from '@ROOT@/shared/tensor/tensor-set.js';\nexport const f = tensorSetDigest;\n`)).toBe('');
    const out = compileAs('site-agent', `import { Coordinator } from '@ROOT@/coordinator/coordinator.js';\nexport const c = Coordinator;\n`);
    expect(out).toMatch(/TS6307/);
    expect(out).toMatch(/coordinator\/coordinator\.ts/);
    expect(check(ROOT, [{ path: 'site-agent/probe.ts', content: `import { Coordinator } from '../coordinator/coordinator.js';\n` }]).join('\n'))
      .toMatch(/site-agent\/probe\.ts: imports \.\.\/coordinator\/coordinator\.js .*never import each other/);
  });

  it('shared/stats importing tfjs fails to compile; importing shared/util compiles', () => {
    expect(compileAs('shared/stats', `import { Xoshiro128 } from '@ROOT@/shared/util/xoshiro128.js';\nexport const x = Xoshiro128;\n`)).toBe('');
    const out = compileAs('shared/stats', `import { selectBackend } from '@ROOT@/shared/tfjs/backend.js';\nexport const s = selectBackend;\n`);
    expect(out).toMatch(/TS6307/);
    expect(check(ROOT, [{ path: 'shared/stats/probe.ts', content: `import { selectBackend } from '../tfjs/backend.js';\n` }]).join('\n'))
      .toMatch(/never depend on tfjs/);
  });

  it('only shared/protocol imports the generated code, even where tsc would reach it through a reference', () => {
    const probe = `import { UpdateHeader } from '../shared/protocol/gen/fl/v1/federation.js';\n`;
    expect(check(ROOT, [{ path: 'coordinator/probe.ts', content: probe }]).join('\n')).toMatch(/only shared\/protocol imports the generated ts-proto code/);
    expect(check(ROOT, [{ path: 'shared/protocol/probe.ts', content: `import { UpdateHeader } from './gen/fl/v1/federation.js';\n` }])).toEqual([]);
  });

  it('a package may import only the packages its tsconfig references directly', () => {
    // shared/audit references shared/tensor but not shared/stats
    expect(check(ROOT, [{ path: 'shared/audit/probe.ts', content: `import { rocCurve } from '../stats/roc.js';\n` }]).join('\n'))
      .toMatch(/package shared\/stats is not in the references of shared\/audit\/tsconfig\.json/);
  });
});

/** Relative imports (static, type-only, re-exports and dynamic) of every non-test .ts file under `dir`, as a graph. */
function importGraph(dir: string): Map<string, string[]> {
  const files = readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'))
    .map((f) => join(dir, f));
  const graph = new Map<string, string[]>();
  const re = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;
  for (const f of files) {
    const src = readFileSync(join(ROOT, f), 'utf8');
    const deps = [...src.matchAll(re)].map((m) => join(dirname(f), (m[1] ?? m[2])!).replace(/\.js$/, '.ts')).filter((d) => d.startsWith(dir + '/'));
    graph.set(f, deps);
  }
  return graph;
}

/** One import cycle (as a path a → … → a), or null. */
function findCycle(graph: Map<string, string[]>): string[] | null {
  const state = new Map<string, 'active' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): string[] | null => {
    if (state.get(n) === 'done') return null;
    if (state.get(n) === 'active') return [...stack.slice(stack.indexOf(n)), n];
    state.set(n, 'active');
    stack.push(n);
    for (const d of graph.get(n) ?? []) {
      const c = visit(d);
      if (c) return c;
    }
    stack.pop();
    state.set(n, 'done');
    return null;
  };
  for (const n of [...graph.keys()].sort()) {
    const c = visit(n);
    if (c) return c;
  }
  return null;
}

describe('import cycles', () => {
  it('coordinator/ has no import cycle (type-only and dynamic imports count)', () => {
    const graph = importGraph('coordinator');
    expect(graph.size).toBeGreaterThan(10);
    expect(findCycle(graph)?.join(' -> ') ?? null).toBeNull();
  });

  it('the cycle check finds a cycle when there is one', () => {
    const graph = importGraph('coordinator');
    // Re-adding the old edge (study-evaluation.ts importing coordinator.ts, which loads it) closes a cycle.
    graph.set('coordinator/study-evaluation.ts', [...graph.get('coordinator/study-evaluation.ts')!, 'coordinator/coordinator.ts']);
    expect(findCycle(graph)).toEqual(expect.arrayContaining(['coordinator/coordinator.ts', 'coordinator/study-evaluation.ts']));
  });
});

#!/usr/bin/env node
// Package boundaries, checked at build time (npm run build) beside `tsc -b`:
//  1. a file may import only its own package and the packages its tsconfig.json `references` name
//     directly (tsc alone also accepts packages reachable through a reference of a reference);
//  2. the project's fixed rules hold whatever a tsconfig says (POLICY below), so adding a reference
//     cannot smuggle in a forbidden direction.
// Usage: node scripts/check-boundaries.mjs [--root DIR]. Exit 1 with one line per violation.
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { dirname, join, normalize, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SOURCE_ROOTS = ['shared', 'coordinator', 'site-agent', 'cli', 'bench', 'test'];

/** [importer pattern, imported pattern, reason]: matched against package names. */
export const POLICY = [
  [/^site-agent$/, /^coordinator$/, 'site-agent and coordinator never import each other (both import shared/)'],
  [/^coordinator$/, /^site-agent$/, 'site-agent and coordinator never import each other (both import shared/)'],
  [/^shared\//, /^(coordinator|site-agent|cli|bench|test)$/, 'shared/ packages import only other shared/ packages'],
  [/^(coordinator|site-agent|cli)$/, /^(bench|test)$/, 'code reached only by benchmarks or tests lives in bench/ or test/, never imported by the product'],
  [/^shared\/stats$/, /^shared\/(tfjs|models)$/, 'statistics never depend on tfjs or the models'],
  [/^(?!shared\/protocol$).*/, /^shared\/protocol\/gen$/, 'only shared/protocol imports the generated ts-proto code (use the domain types of shared/protocol)'],
];

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) walk(p, out);
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

function readJsonc(path) {
  const text = readFileSync(path, 'utf8').replace(/^\s*\/\/.*$/gm, '');
  return JSON.parse(text);
}

/** The packages: every folder under SOURCE_ROOTS with its own tsconfig.json (test files belong to `test`). */
export function loadPackages(root) {
  const pkgs = new Map();
  const visit = (dir) => {
    const cfg = join(dir, 'tsconfig.json');
    if (existsSync(cfg)) {
      const name = relative(root, dir).split(sep).join('/');
      const refs = (readJsonc(cfg).references ?? []).map((r) => relative(root, resolve(dir, r.path)).split(sep).join('/'));
      pkgs.set(name, new Set(refs));
    }
    for (const n of readdirSync(dir)) {
      const p = join(dir, n);
      if (n !== 'node_modules' && n !== 'dist' && statSync(p).isDirectory()) visit(p);
    }
  };
  for (const r of SOURCE_ROOTS) if (existsSync(join(root, r))) visit(join(root, r));
  return pkgs;
}

export function packageOf(pkgs, relPath) {
  if (relPath.endsWith('.test.ts') || relPath.startsWith('test/')) return 'test';
  let best = null;
  for (const name of pkgs.keys()) {
    if (relPath === name || relPath.startsWith(name + '/')) if (!best || name.length > best.length) best = name;
  }
  return best;
}

const IMPORT = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

/**
 * Checks every file under root (plus `extra`: [{path (relative to root), content}] checked as if
 * they were there). Returns the violations as strings.
 */
export function checkBoundaries(root, extra = []) {
  const pkgs = loadPackages(root);
  const files = SOURCE_ROOTS.filter((r) => existsSync(join(root, r))).flatMap((r) => walk(join(root, r), []))
    .map((p) => ({ path: relative(root, p).split(sep).join('/'), content: null }));
  files.push(...extra);
  const problems = [];
  for (const f of files) {
    const from = packageOf(pkgs, f.path);
    if (!from) continue;
    const src = f.content ?? readFileSync(join(root, f.path), 'utf8');
    for (const m of src.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2];
      const target = normalize(join(dirname(f.path), spec)).split(sep).join('/').replace(/\.js$/, '.ts');
      const to = packageOf(pkgs, target);
      if (!to || to === from) continue;
      for (const [a, b, why] of POLICY) {
        if (a.test(from) && b.test(to)) problems.push(`${f.path}: imports ${spec} (package ${to}): ${why}`);
      }
      if (from !== 'test' && !pkgs.get(from)?.has(to)) {
        problems.push(`${f.path}: imports ${spec}, but package ${to} is not in the references of ${from}/tsconfig.json (add it there if the direction is allowed)`);
      }
    }
  }
  return problems;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const i = process.argv.indexOf('--root');
  const root = i > 0 ? resolve(process.argv[i + 1]) : resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const problems = checkBoundaries(root);
  for (const p of problems) console.error(`boundaries: ${p}`);
  if (problems.length) {
    console.error(`boundaries: ${problems.length} forbidden import(s); the package map is in README.md ("Design")`);
    process.exit(1);
  }
}

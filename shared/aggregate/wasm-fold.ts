// A WebAssembly SIMD kernel for fused weighted sums, assembled here byte by byte (no toolchain).
//
// Export `foldF` (F = 1..MAX_FOLD) computes, for i in [0, n) with n a multiple of 4:
//   acc[i] = (((acc[i] + w_0 * x_0[i]) + w_1 * x_1[i]) + ... + w_{F-1} * x_{F-1}[i])
// with acc float64 and x float32 (promoted exactly to float64), 4 elements per iteration as two
// f64x2 lanes. Every operation is an IEEE-754 double multiply or add (no fused multiply-add), in
// the same order as the scalar JavaScript kernel, so both give bit-identical results.
//
// Signature of foldF: (acc: i32, x_0..x_{F-1}: i32, w_0..w_{F-1}: f64, n: i32) -> (), byte
// addresses into the imported memory `env.mem`; acc must be 8-aligned and the x 4-aligned
// (16-aligned is faster).

export const MAX_FOLD = 8;

const I32 = 0x7f;
const F64 = 0x7c;
const V128 = 0x7b;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const name = (s: string): number[] => [...uleb(s.length), ...Buffer.from(s, 'utf8')];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, bytes: number[]): number[] => [id, ...uleb(bytes.length), ...bytes];
const simd = (op: number): number[] => [0xfd, ...uleb(op)];
const localGet = (i: number): number[] => [0x20, ...uleb(i)];
const localSet = (i: number): number[] => [0x21, ...uleb(i)];
const i32Const = (v: number): number[] => [0x41, ...sleb(v)];

const OP = {
  i32Add: 0x6a, i32Shl: 0x74, i32LtU: 0x49, loop: 0x03, void: 0x40, brIf: 0x0d, end: 0x0b,
  v128Load: 0x00, v128Store: 0x0b, i8x16Shuffle: 0x0d, f64x2Splat: 0x14,
  f64x2PromoteLowF32x4: 0x5f, f64x2Add: 0xf0, f64x2Mul: 0xf2,
} as const;

/** Lanes 2 and 3 of an f32x4 moved to lanes 0 and 1, so promote_low converts them. */
const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];

function foldBody(f: number): number[] {
  const pa = 0;
  const px = (j: number) => 1 + j;
  const w = (j: number) => 1 + f + j;
  const n = 2 * f + 1;
  const end = 2 * f + 2; // i32 local
  const alo = end + 1; // v128 locals
  const ahi = end + 2;
  const v = end + 3;
  const ws = (j: number) => end + 4 + j;
  const c: number[] = [];
  // end = acc + n * 8; splat the weights.
  c.push(...localGet(pa), ...localGet(n), ...i32Const(3), OP.i32Shl, OP.i32Add, ...localSet(end));
  for (let j = 0; j < f; j++) c.push(...localGet(w(j)), ...simd(OP.f64x2Splat), ...localSet(ws(j)));
  c.push(OP.loop, OP.void);
  c.push(...localGet(pa), ...simd(OP.v128Load), 3, 0, ...localSet(alo));
  c.push(...localGet(pa), ...simd(OP.v128Load), 3, 16, ...localSet(ahi));
  for (let j = 0; j < f; j++) {
    c.push(...localGet(px(j)), ...simd(OP.v128Load), 2, 0, ...localSet(v));
    c.push(...localGet(alo), ...localGet(v), ...simd(OP.f64x2PromoteLowF32x4), ...localGet(ws(j)),
      ...simd(OP.f64x2Mul), ...simd(OP.f64x2Add), ...localSet(alo));
    c.push(...localGet(ahi), ...localGet(v), ...localGet(v), ...simd(OP.i8x16Shuffle), ...HIGH_HALF,
      ...simd(OP.f64x2PromoteLowF32x4), ...localGet(ws(j)), ...simd(OP.f64x2Mul), ...simd(OP.f64x2Add), ...localSet(ahi));
  }
  c.push(...localGet(pa), ...localGet(alo), ...simd(OP.v128Store), 3, 0);
  c.push(...localGet(pa), ...localGet(ahi), ...simd(OP.v128Store), 3, 16);
  c.push(...localGet(pa), ...i32Const(32), OP.i32Add, ...localSet(pa));
  for (let j = 0; j < f; j++) c.push(...localGet(px(j)), ...i32Const(16), OP.i32Add, ...localSet(px(j)));
  c.push(...localGet(pa), ...localGet(end), OP.i32LtU, OP.brIf, 0);
  c.push(OP.end, OP.end);
  const locals = vec([[...uleb(1), I32], [...uleb(3 + f), V128]]);
  const body = [...locals, ...c];
  return [...uleb(body.length), ...body];
}

/** The module's bytes (exports fold1..fold{MAX_FOLD}, imports env.mem). */
export function foldModuleBytes(): Uint8Array {
  const fs = Array.from({ length: MAX_FOLD }, (_, i) => i + 1);
  const types = fs.map((f) => [0x60, ...vec([[I32], ...Array<number[]>(f).fill([I32]), ...Array<number[]>(f).fill([F64]), [I32]]), 0]);
  const imports = [[...name('env'), ...name('mem'), 0x02, 0x00, 1]];
  const funcs = fs.map((_, i) => uleb(i));
  const exports = fs.map((f, i) => [...name(`fold${f}`), 0x00, ...uleb(i)]);
  const code = fs.map((f) => foldBody(f));
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)), ...section(2, vec(imports)), ...section(3, vec(funcs)),
    ...section(7, vec(exports)), ...section(10, vec(code)),
  ]);
}

// Minimal typings: lib ES2023 and @types/node 20 do not declare the WebAssembly global.
interface WasmMemory { readonly buffer: ArrayBuffer }
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number }) => WasmMemory;
}
const wasmApi = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

let compiled: object | null | undefined;

/** The compiled module, or null when this runtime has no WebAssembly SIMD (or FL_AGG_NO_WASM=1). */
export function foldModule(): object | null {
  if (compiled !== undefined) return compiled;
  const bytes = foldModuleBytes();
  compiled = process.env.FL_AGG_NO_WASM === '1' || !wasmApi || !wasmApi.validate(bytes) ? null : new wasmApi.Module(bytes);
  return compiled;
}

export type FoldFn = (...args: number[]) => void;

/** An instance on a fresh memory of at least `bytes` bytes: the fold functions by F. */
export function instantiateFold(bytes: number): { memory: WasmMemory; folds: FoldFn[] } | null {
  const mod = foldModule();
  if (!mod || !wasmApi) return null;
  const memory = new wasmApi.Memory({ initial: Math.max(1, Math.ceil(bytes / 65536)) });
  const inst = new wasmApi.Instance(mod, { env: { mem: memory } });
  const folds: FoldFn[] = [];
  for (let f = 1; f <= MAX_FOLD; f++) folds[f] = inst.exports[`fold${f}`] as FoldFn;
  return { memory, folds };
}

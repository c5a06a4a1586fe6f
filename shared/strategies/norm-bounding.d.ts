import type { Strategy } from './types.js';
export declare function normBounding(maxNorm: number, blockElems?: number): Strategy;

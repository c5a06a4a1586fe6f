import type { Strategy } from './types.js';
export declare function fedProx(proximalMu: number): Strategy;

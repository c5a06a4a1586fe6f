import type { Strategy } from './types.js';
export type TrimSpec = {
    readonly beta: number;
} | {
    readonly count: number;
};
export declare function trimmedMean(trim: TrimSpec, blockElems?: number): Strategy;

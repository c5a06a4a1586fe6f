import type { Strategy } from './types.js';
export declare function coordinateMedian(blockElems?: number): Strategy;

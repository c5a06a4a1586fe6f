import type { Strategy } from './types.js';
export declare function fedAvg(): Strategy;

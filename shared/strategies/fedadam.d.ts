import { type ServerOptimizerParams } from './server-optimizer.js';
import type { Strategy } from './types.js';
export declare function fedAdam(params: ServerOptimizerParams): Strategy;

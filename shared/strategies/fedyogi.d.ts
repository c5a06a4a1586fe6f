import { type ServerOptimizerParams } from './server-optimizer.js';
import type { Strategy } from './types.js';
export declare function fedYogi(params: ServerOptimizerParams): Strategy;

import type { TensorInfo as WireTensorInfo } from '../shared/protocol/index.js';
import type { TensorInfo } from '../shared/tensor/tensor-set.js';
export declare function toWireInfos(infos: readonly TensorInfo[]): WireTensorInfo[];
/** Wire infos → domain infos; an unknown dtype is kept as-is so the spec check can name it. */
export declare function fromWireInfos(infos: readonly WireTensorInfo[]): TensorInfo[];

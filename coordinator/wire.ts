// Conversion between the generated protobuf types and domain types: the only place in the
// coordinator that knows protobuf field shapes for tensors.
import type { TensorInfo as WireTensorInfo } from '../shared/protocol/index.js';
import type { TensorInfo } from '../shared/tensor/tensor-set.js';

export function toWireInfos(infos: readonly TensorInfo[]): WireTensorInfo[] {
  return infos.map((t) => ({ name: t.name, shape: [...t.shape], dtype: t.dtype }));
}

/** Wire infos → domain infos; an unknown dtype is kept as-is so the spec check can name it. */
export function fromWireInfos(infos: readonly WireTensorInfo[]): TensorInfo[] {
  return infos.map((t) => ({ name: t.name, shape: [...t.shape], dtype: t.dtype as TensorInfo['dtype'] }));
}

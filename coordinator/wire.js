export function toWireInfos(infos) {
    return infos.map((t) => ({ name: t.name, shape: [...t.shape], dtype: t.dtype }));
}
/** Wire infos → domain infos; an unknown dtype is kept as-is so the spec check can name it. */
export function fromWireInfos(infos) {
    return infos.map((t) => ({ name: t.name, shape: [...t.shape], dtype: t.dtype }));
}
//# sourceMappingURL=wire.js.map
// The shape every reported figure takes: a value or null with the reason it is undefined
// (never NaN), so JSON reports stay valid and an auditor sees why a cell is empty.
export function undefinedEstimate(method, reason) {
    return { estimate: null, ci: null, method, reason };
}
/** Returns x when it is a finite number, else null. */
export function finiteOrNull(x) {
    return Number.isFinite(x) ? x : null;
}
//# sourceMappingURL=estimate.js.map
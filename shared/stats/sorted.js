// Binary searches on ascending Float64Arrays (the building block of the O(n log n) statistics).
/** Number of elements < x. */
export function countBelow(sorted, x) {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (sorted[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}
/** Number of elements <= x. */
export function countAtOrBelow(sorted, x) {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (sorted[mid] <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}
/** The scores of cases (label 1) and controls (label 0), each sorted ascending. */
export function splitSorted(labels, scores) {
    let m = 0;
    for (let i = 0; i < labels.length; i++)
        if (labels[i] === 1)
            m++;
    const cases = new Float64Array(m);
    const controls = new Float64Array(labels.length - m);
    let a = 0;
    let b = 0;
    for (let i = 0; i < labels.length; i++) {
        if (labels[i] === 1)
            cases[a++] = scores[i];
        else
            controls[b++] = scores[i];
    }
    cases.sort();
    controls.sort();
    return { cases, controls };
}
//# sourceMappingURL=sorted.js.map
/** Number of elements < x. */
export declare function countBelow(sorted: Float64Array, x: number): number;
/** Number of elements <= x. */
export declare function countAtOrBelow(sorted: Float64Array, x: number): number;
/** The scores of cases (label 1) and controls (label 0), each sorted ascending. */
export declare function splitSorted(labels: ArrayLike<number>, scores: ArrayLike<number>): {
    cases: Float64Array;
    controls: Float64Array;
};

export interface StudyPredictionRow {
    readonly site: string;
    /** Report cohort: internal_test (pooled over sites) or prospective_<site>. */
    readonly cohort: string;
    /** The site's own cohort name (test, prospective). */
    readonly siteCohort: string;
    readonly caseKey: string;
    readonly label: 0 | 1;
    readonly scores: Record<string, number>;
}
/** predictions.csv: site, cohort, case_key, label, one column per model (17 significant digits). */
export declare function predictionsCsv(rows: readonly StudyPredictionRow[], models: readonly string[]): string;
/** Parses a score column back exactly as written (shortest round-trip decimal). */
export declare function csvRecord(r: StudyPredictionRow, models: readonly string[]): Record<string, string>;
export declare function buildStudyStatistics(rows: readonly StudyPredictionRow[], models: readonly string[], thresholds: Record<string, number>, o: {
    bootstrap: number;
    seed: number;
    reference: string;
}): Record<string, unknown>;

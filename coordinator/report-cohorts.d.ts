export declare function reportCohort(site: string, cohort: string): string;
export declare function reportCohortOrder(names: Iterable<string>): string[];

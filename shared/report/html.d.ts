type Ci = readonly [number, number] | null;
export interface HtmlEstimate {
    readonly estimate: number | null;
    readonly ci?: Ci;
    readonly reason?: string;
    readonly numerator?: number;
    readonly denominator?: number;
    readonly x?: number;
    readonly n?: number;
}
export type HtmlRocPoint = readonly [number, number] | {
    readonly fpr: number;
    readonly tpr: number;
};
export interface HtmlModel {
    readonly n?: number;
    readonly auc: HtmlEstimate;
    readonly roc?: readonly HtmlRocPoint[];
    readonly threshold: number;
    readonly sensitivity: HtmlEstimate;
    readonly specificity: HtmlEstimate;
    readonly ppv: HtmlEstimate;
    readonly npv: HtmlEstimate;
    readonly accuracy: HtmlEstimate;
    readonly calibration?: {
        readonly intercept: number | null;
        readonly slope: number | null;
        readonly brier: number | null;
        readonly reason?: string;
        readonly curve?: readonly {
            readonly mean_predicted: number;
            readonly observed: number;
            readonly n: number;
        }[];
    };
    readonly decision_curve?: readonly {
        readonly threshold: number;
        readonly net_benefit: number;
        readonly treat_all: number;
    }[];
}
export interface HtmlDifference {
    readonly estimate: number | null;
    readonly ci?: Ci;
    readonly p?: number | null;
    readonly reason?: string;
}
export interface HtmlComparison {
    readonly a: string;
    readonly b: string;
    readonly auc_difference: number | null;
    readonly delong: {
        readonly z: number | null;
        readonly p: number | null;
        readonly reason?: string;
    };
    readonly npv_difference?: HtmlDifference;
    readonly specificity_difference?: HtmlDifference;
    readonly bootstrap?: {
        readonly replicates?: number;
        readonly npv_difference?: HtmlDifference;
        readonly specificity_difference?: HtmlDifference;
    };
}
export interface HtmlGroup {
    readonly n: number;
    readonly positives: number;
    readonly models: Readonly<Record<string, HtmlModel>>;
    readonly comparisons?: readonly HtmlComparison[];
}
export interface HtmlCohort extends HtmlGroup {
    readonly subgroups?: Readonly<Record<string, HtmlGroup>>;
}
export interface HtmlReportInput {
    readonly cohorts: Readonly<Record<string, HtmlCohort>>;
}
export interface HtmlReportOptions {
    readonly title: string;
    readonly subtitle?: string;
    readonly extraSections?: readonly {
        readonly title: string;
        readonly html: string;
    }[];
    /** ROC points per cohort and model, overriding the report's own `roc` arrays. */
    readonly rocData?: Readonly<Record<string, Readonly<Record<string, readonly HtmlRocPoint[]>>>>;
}
export declare function escapeHtml(s: string): string;
export declare function formatP(p: number | null | undefined): string;
/** "0.81–0.93", or "-0.04 to 0.07" when a bound is negative (a dash would read as a minus). */
export declare function ciText(ci: readonly [number, number], digits?: number): string;
export declare function renderHtmlReport(report: HtmlReportInput, opts: HtmlReportOptions): string;
export {};

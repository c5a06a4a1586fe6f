import type { StudyReport } from './report.js';
export declare function renderStudyHtml(report: StudyReport): string;

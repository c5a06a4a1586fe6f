// How held-out cohorts are named and ordered in a study report, as in the lead study's paper:
// the internal test cohort pooled over sites first, then one prospective cohort per site.
export function reportCohort(site, cohort) {
    if (cohort === 'test')
        return 'internal_test';
    if (cohort === 'prospective')
        return `prospective_${site}`;
    return cohort;
}
export function reportCohortOrder(names) {
    return [...names].sort((a, b) => (a === 'internal_test' ? -1 : b === 'internal_test' ? 1 : a.localeCompare(b)));
}
//# sourceMappingURL=report-cohorts.js.map
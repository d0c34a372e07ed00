// Why a dataset-month was skipped, in one place: the archive workflow and a page (an activity) both
// report it. Pure: workflow code imports it.
import type { MonthRef } from './layout.ts';

/** Why a dataset-month was skipped, as the archive workflow and a page both report it. */
export function skipReason(ref: MonthRef, status: 'archived' | 'empty'): string {
  const { group, dataset, month } = ref;
  return status === 'archived'
    ? `${month} of ${group}/${dataset} is already archived, and no point was written into it since`
    : `no series of ${group}/${dataset} holds a point in ${month}: nothing to archive, nothing written`;
}

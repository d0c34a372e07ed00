// Deterministic workflow IDs of the monthly run and its groups. Pure: workflow code imports it.
//
//   offload/<YYYY-MM>                         the monthly run started by start-archive or a backfill
//   offload/scheduled/<schedule ID>-<time>    a run started by the Schedule (the server appends the time)
//   offload-group/<YYYY-MM>/<group>           one group of a month, whoever started the monthly run
//   archive/<group>/<dataset>/<YYYY-MM>       one dataset (src/archive/layout.ts)
//
// A dry run gets its own IDs (suffix /dry-run), so it never waits for, nor blocks, a real run.
// The group ID has its own prefix: a group may be called "dry-run".
import { archiveWorkflowId, type MonthRef } from '../archive/layout.ts';

const dry = (dryRun: boolean | undefined) => (dryRun ? '/dry-run' : '');

/** The Schedule's workflow ID prefix; the server appends the nominal time. */
export const scheduledWorkflowId = (scheduleId: string) => `offload/scheduled/${scheduleId}`;

export const monthlyWorkflowId = (month: string, dryRun?: boolean) => `offload/${month}${dry(dryRun)}`;

export const groupWorkflowId = (month: string, group: string, dryRun?: boolean) =>
  `offload-group/${month}/${group}${dry(dryRun)}`;

export const datasetWorkflowId = (ref: MonthRef, dryRun?: boolean) =>
  `${archiveWorkflowId(ref)}${dry(dryRun)}`;

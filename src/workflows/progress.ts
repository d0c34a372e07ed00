// What the monthly and group workflows say about themselves while they run: one query for both, and
// the signal a group sends its monthly parent so the monthly's answer covers the datasets too.
import { defineQuery, defineSignal } from '@temporalio/workflow';

export interface DatasetCounts {
  /** Datasets in the group (configured plus discovered); unknown until the list is made. */
  total?: number;
  archived: number;
  skipped: number;
  /** Dry runs: datasets that would be archived. */
  dryRunDatasets: number;
  failed: number;
  running: number;
  /** total minus finished minus running, when total is known. */
  pending?: number;
  points: number;
  bytes: number;
}

export interface GroupProgress extends DatasetCounts {
  group: string;
  status: 'pending' | 'discover' | 'archive' | 'done' | 'failed';
  workflowId: string;
}

export interface OffloadProgress extends DatasetCounts {
  month: string;
  phase: string;
  /** The monthly run: every group, in order. Group progress arrives at least every chunk of datasets. */
  groups?: GroupProgress[];
}

export const offloadProgress = defineQuery<OffloadProgress>('offloadProgress');

/** Sent by a group run to its monthly parent. */
export const groupProgress = defineSignal<[GroupProgress]>('groupProgress');

export function pendingOf(c: Omit<DatasetCounts, 'pending'>): number | undefined {
  if (c.total === undefined) return undefined;
  return Math.max(0, c.total - c.archived - c.skipped - c.dryRunDatasets - c.failed - c.running);
}

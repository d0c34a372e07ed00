// Custom search attributes: every run is filterable by month, group, dataset and phase in the Web UI
// and with `temporal workflow list --query`. The stack registers them on the dev server.
import { defineSearchAttributeKey } from '@temporalio/common';

export const SEARCH_ATTRIBUTES = {
  OffloadMonth: 'Keyword',
  OffloadGroup: 'Keyword',
  OffloadDataset: 'Keyword',
  OffloadPhase: 'Keyword',
} as const;

export const OffloadMonth = defineSearchAttributeKey('OffloadMonth', 'KEYWORD');
export const OffloadGroup = defineSearchAttributeKey('OffloadGroup', 'KEYWORD');
export const OffloadDataset = defineSearchAttributeKey('OffloadDataset', 'KEYWORD');
export const OffloadPhase = defineSearchAttributeKey('OffloadPhase', 'KEYWORD');

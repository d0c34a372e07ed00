// Failure types shared by activities (which throw them) and workflows (whose retry policies name them).
// Pure: workflow code imports it.

/** Failure types a retry cannot fix. */
export const NON_RETRYABLE = [
  'WarpScriptError',
  'Warp10TokenRefused',
  'Warp10DeleteRefused',
  'Warp10HttpError',
  // Warp 10 does not count microseconds (warp.timeunits): every range would be wrong.
  'Warp10TimeUnits',
  // The write token reaches series the read token does not read: the guarded delete refused.
  'Warp10TokenReach',
  'LiveDataChanged',
  'AmbiguousSelector',
  'ArchiveCorrupt',
  // An archived batch whose points may be gone from Warp 10 (verified or deleted) found missing or
  // damaged in the store: an incident, never exported again over it.
  'ArchiveDamaged',
  'NotVerified',
  'IncompleteMonth',
  'PlanMissing',
  // A month archived before its end plus the configured lateness.
  'TooEarly',
  'StorePermanentError',
  'ConfigError',
  'SlackConfigError',
  // Restore: bad input, a target already holding other points, a read-back that differs.
  'InvalidInput',
  'NoSuchArchive',
  'TargetHasData',
  'RestoreMismatch',
] as const;

export type NonRetryableType = (typeof NON_RETRYABLE)[number];

/** What an activity failure carries for the failure report. */
export interface FailureDetails {
  attempt: number;
  batch?: number;
  warp10?: { line?: number; message: string };
}

// Every workflow the worker runs. Workflow code is deterministic and holds no I/O (see eslint.config.js).
export { archive, archiveProgress } from './archive.ts';
export { archiveFailure } from './failure.ts';
export { smoke } from './smoke.ts';
export { monthlyOffload } from './monthly.ts';
export { groupOffload } from './group.ts';
export { offloadProgress } from './progress.ts';
export { restore, restoreProgress } from './restore.ts';
export { archiveCatalog } from './catalog.ts';
export { erase, eraseProgress } from './erase.ts';

// Every workflow the worker runs. Workflow code is deterministic and holds no I/O (see eslint.config.js).
export { archive, archiveProgress } from './archive.ts';
export { archiveFailure } from './failure.ts';
export { smoke } from './smoke.ts';

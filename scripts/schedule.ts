// npm run schedule -- create|update|describe|pause|unpause|trigger|delete|backfill (see src/cli/schedule.ts)
import { runScheduleCli } from '../src/cli/schedule.ts';
import { applyStackEnv } from '../src/stack-env.ts';

applyStackEnv();
process.exitCode = await runScheduleCli(process.argv.slice(2));

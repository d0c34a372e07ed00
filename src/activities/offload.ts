// Activities of the monthly run and its groups: the settings the worker's config decides (so the config
// stays authoritative and no secret enters a workflow history), the group's dataset list (configured plus
// discovered in Warp 10, frozen once per group run in the store), and waiting for a workflow that some
// other run already started.
import { getClient, heartbeat, sleep, cancellationSignal } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, rootCause } from '@temporalio/common';
import { z } from 'zod';
import { ConfigError, findGroup } from '../config/load.ts';
import type { GroupMode, OffloadConfig, Selector } from '../config/schema.ts';
import {
  MonthError,
  addMonths,
  assertArchivableMonth,
  parseMonth,
  previousMonth,
  settledAt,
} from '../month.ts';
import { discoveredSelector, nameDiscovered } from '../offload/discovery.ts';
import type { ArchiveStore } from '../store/types.ts';
import type { WarpScriptRunner } from '../warp10/runner.ts';
import { monthManifestKey } from '../archive/layout.ts';
import { MonthManifestSchema } from '../archive/manifest.ts';
import { toFailure } from './failures.ts';
import { keepAlive } from './keep-alive.ts';
import { readJson, writeJson } from './store-json.ts';

export interface GroupSettings {
  name: string;
  mode: GroupMode;
  concurrency: number;
  /** Datasets listed in the config; discovered ones are counted when the group runs. */
  datasets: number;
  discover: boolean;
}

export interface OffloadSettings {
  month: string;
  timezone: string;
  uiUrl: string;
  namespace: string;
  /** slack.successSummary is configured and enabled. */
  successSummary: boolean;
  /** The groups to run, in configured order. */
  groups: GroupSettings[];
  /** When the month's end plus the configured lateness is past: no dataset is archived before. */
  settledAt: string;
  /** Earlier months the run checks again for late points, newest first (lateData.recheckMonths). */
  recheck: string[];
}

/** One dataset of a group run: configured ones are looked up by name, discovered ones carry a selector. */
export interface DatasetEntry {
  name: string;
  selector?: Selector;
  seriesPerBatch?: number;
  /** Set when the month's manifest is already in the store: nothing to start for this dataset. */
  archived?: { series: number; points: number; bytes: number };
}

export interface GroupPreparation {
  /** Store key of the frozen dataset list. */
  snapshot: string;
  total: number;
  configured: number;
  discovered: number;
}

const SelectorSchema = z.object({ class: z.string(), labels: z.record(z.string(), z.string()) });

export const DatasetListSchema = z.object({
  format: z.literal('warp10-offloader/datasets@1'),
  group: z.string(),
  month: z.string(),
  createdAt: z.string(),
  discover: z.object({ selector: SelectorSchema, byLabel: z.string(), values: z.number().int() }).optional(),
  datasets: z.array(
    z.object({
      name: z.string(),
      selector: SelectorSchema.optional(),
      seriesPerBatch: z.number().int().positive().optional(),
    }),
  ),
});
export type DatasetList = z.infer<typeof DatasetListSchema>;

/**
 * Where a group run freezes its dataset list. `_offload/` cannot clash with a group's archives
 * (group names start with a letter or digit); `snapshotId` is the group run's first run ID, so every
 * run of a continue-as-new chain pages through the same list, and a later run makes its own.
 */
export const datasetListKey = (ref: { month: string; group: string; snapshotId: string }) =>
  `_offload/${ref.month}/${ref.group}/datasets-${ref.snapshotId}.json`;

/** Series listed per discovery request: bounded like the plan's pages. */
const DISCOVER_PAGE = 10_000;

function invalidInput(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: 'InvalidInput', message, nonRetryable: true });
}

function configFailure(err: unknown): unknown {
  return err instanceof ConfigError
    ? ApplicationFailure.create({ type: 'ConfigError', message: err.message, nonRetryable: true })
    : err;
}

export function createOffloadActivities(deps: {
  config: OffloadConfig;
  store: ArchiveStore;
  runner: WarpScriptRunner;
  tokens: { read: string };
  /** How often awaitWorkflow checks the awaited workflow (default 5 s). */
  awaitPollMs?: number;
}) {
  const { config, store, runner, tokens } = deps;
  const pollMs = deps.awaitPollMs ?? 5_000;

  async function discover(group: ReturnType<typeof findGroup>): Promise<string[]> {
    const d = group.discover;
    if (!d) return [];
    const values = new Set<string>();
    for (let gskip = 0; ; gskip += DISCOVER_PAGE) {
      const [page] = await keepAlive(
        () =>
          runner.run<[{ matched: number; values: string[] }]>(
            'discover-datasets',
            {
              token: tokens.read,
              class: d.selector.class,
              labels: d.selector.labels,
              label: d.byLabel,
              gskip,
              gcount: DISCOVER_PAGE,
            },
            cancellationSignal(),
          ),
        () => ({ listed: gskip, values: values.size }),
      );
      for (const v of page.values) values.add(v);
      heartbeat({ listed: gskip + page.matched, values: values.size });
      if (page.matched < DISCOVER_PAGE) break;
    }
    return [...values];
  }

  return {
    /**
     * The month to archive and the groups to run. Without `month`, the month before `nominalTime`
     * (the schedule's nominal time) in the configured time zone.
     */
    async offloadSettings(input: {
      month?: string;
      nominalTime?: string;
      groups?: string[];
    }): Promise<OffloadSettings> {
      let month: string;
      try {
        if (input.month !== undefined) {
          parseMonth(input.month);
          month = input.month;
        } else {
          month = previousMonth(
            input.nominalTime ? new Date(input.nominalTime) : new Date(),
            config.timezone,
          );
        }
        assertArchivableMonth(month, new Date(), config.timezone);
      } catch (err) {
        if (err instanceof MonthError) throw invalidInput(err.message);
        throw err;
      }
      let groups = config.groups;
      if (input.groups && input.groups.length > 0) {
        try {
          for (const name of input.groups) findGroup(config, name);
        } catch (err) {
          throw configFailure(err);
        }
        groups = groups.filter((g) => input.groups?.includes(g.name));
      }
      const summary = config.slack?.successSummary;
      return {
        month,
        timezone: config.timezone,
        uiUrl: config.temporal.uiUrl,
        namespace: config.temporal.namespace,
        successSummary: summary !== undefined && summary.enabled,
        settledAt: settledAt(config, month).toISOString(),
        recheck: Array.from({ length: config.lateData.recheckMonths }, (_, i) => addMonths(month, -(i + 1))),
        groups: groups.map((g) => ({
          name: g.name,
          mode: g.mode,
          concurrency: g.concurrency,
          datasets: g.datasets.length,
          discover: g.discover !== undefined,
        })),
      };
    },

    /**
     * Lists the group's datasets — configured ones first, in config order, then one per distinct value
     * of the discover label, sorted — and freezes the list in the store. Idempotent: a retry, or a
     * continue-as-new of the same group run, finds the list already written and reuses it.
     */
    async prepareGroup(input: {
      group: string;
      month: string;
      snapshotId: string;
    }): Promise<GroupPreparation> {
      const key = datasetListKey(input);
      try {
        let list = await readJson(store, key, DatasetListSchema);
        if (!list) {
          const group = findGroup(config, input.group);
          const d = group.discover;
          const values = await discover(group);
          const discovered = d
            ? nameDiscovered(
                values,
                group.datasets.map((ds) => ds.name),
              ).map(({ name, value }) => ({
                name,
                selector: discoveredSelector(d, value),
                seriesPerBatch: d.seriesPerBatch,
              }))
            : [];
          list = {
            format: 'warp10-offloader/datasets@1',
            group: input.group,
            month: input.month,
            createdAt: new Date().toISOString(),
            ...(d ? { discover: { selector: d.selector, byLabel: d.byLabel, values: values.length } } : {}),
            datasets: [...group.datasets.map((ds) => ({ name: ds.name })), ...discovered],
          };
          await writeJson(store, key, list);
        }
        const discovered = list.datasets.filter((d) => d.selector !== undefined).length;
        return {
          snapshot: key,
          total: list.datasets.length,
          configured: list.datasets.length - discovered,
          discovered,
        };
      } catch (err) {
        throw toFailure(configFailure(err));
      }
    },

    /** One page of a frozen dataset list: what a group run works on before it continues as new. */
    async groupDatasets(input: {
      snapshot: string;
      offset: number;
      limit: number;
      /** With month and group: marks the datasets whose month is already archived. */
      month?: string;
      group?: string;
    }): Promise<DatasetEntry[]> {
      try {
        const list = await readJson(store, input.snapshot, DatasetListSchema);
        if (!list) {
          throw ApplicationFailure.create({
            type: 'PlanMissing',
            message: `no dataset list at ${input.snapshot}`,
            nonRetryable: true,
          });
        }
        const page = list.datasets.slice(input.offset, input.offset + input.limit);
        const { month, group } = input;
        if (!month || !group) return page;
        // One cheap store read per dataset here saves a child workflow per archived dataset: a rerun or
        // a backfill over thousands of datasets costs seconds, not thousands of workflow runs.
        const out: DatasetEntry[] = [];
        for (const ds of page) {
          const done = await readJson(
            store,
            monthManifestKey({ group, dataset: ds.name, month }),
            MonthManifestSchema,
          );
          out.push(
            done ? { ...ds, archived: { series: done.series, points: done.points, bytes: done.bytes } } : ds,
          );
        }
        return out;
      } catch (err) {
        throw toFailure(err);
      }
    },

    /**
     * Waits for a workflow that is already running under the ID we wanted (a run started by hand, or by
     * another monthly run of the same month) and returns its result, so it is never started twice.
     */
    async awaitWorkflow(input: { workflowId: string }): Promise<unknown> {
      const handle = getClient().workflow.getHandle(input.workflowId);
      for (;;) {
        const d = await handle.describe();
        if (d.status.name !== 'RUNNING') break;
        heartbeat({ waiting: input.workflowId });
        await sleep(pollMs); // rejects when this activity is cancelled
      }
      try {
        return await handle.result();
      } catch (err) {
        if (!(err instanceof WorkflowFailedError)) throw err;
        const cause = rootCause(err) ?? err.message;
        throw ApplicationFailure.create({
          type: 'AwaitedWorkflowFailed',
          message: `${input.workflowId} did not complete: ${cause}`,
          nonRetryable: true,
        });
      }
    },
  };
}

export type OffloadActivities = ReturnType<typeof createOffloadActivities>;

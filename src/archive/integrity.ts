// The stored objects of a batch whose points may be gone from Warp 10 (verified: its delete may have run;
// deleted): the archive is then their only copy, so each object must be there, whole, with the SHA-256
// its batch manifest names, and so must each of its gzip members. A rerun checks them before going on
// (src/activities/warp10/export.ts) and never writes anything over a damaged one.
import { createHash } from 'node:crypto';
import { NotFoundError, type ArchiveStore } from '../store/types.ts';
import type { BatchManifest, Member } from './manifest.ts';

export interface ObjectDamage {
  /** The store key of the damaged object. */
  key: string;
  problem: string;
}

/** Each member's bytes into its own hash, as the object streams by (members are contiguous, in order). */
export async function* hashingMembers(
  body: AsyncIterable<Uint8Array>,
  members: Member[],
  hashes: ReturnType<typeof createHash>[],
): AsyncGenerator<Uint8Array> {
  let at = 0;
  let i = 0;
  for await (const chunk of body) {
    let from = 0;
    while (from < chunk.length && i < members.length) {
      const end = members[i]!.offset + members[i]!.bytes;
      const take = Math.min(chunk.length - from, end - at);
      if (take <= 0) {
        i++;
        continue;
      }
      hashes[i]!.update(chunk.subarray(from, from + take));
      [from, at] = [from + take, at + take];
      if (at >= end) i++;
    }
    yield chunk;
  }
}

/** One stored object against what its manifest says of it: undefined when whole, else "is missing"… */
export async function objectDamage(
  store: ArchiveStore,
  object: { key: string; bytes: number; sha256: string; members?: Member[] | undefined },
): Promise<string | undefined> {
  const head = await store.head(object.key);
  if (!head) return 'is missing';
  if (head.bytes !== object.bytes) return `is ${head.bytes} bytes, its manifest says ${object.bytes}`;
  const members = object.members ?? [];
  const memberHashes = members.map(() => createHash('sha256'));
  const whole = createHash('sha256');
  try {
    for await (const chunk of hashingMembers(await store.get(object.key), members, memberHashes))
      whole.update(chunk);
  } catch (err) {
    if (err instanceof NotFoundError) return 'is missing';
    throw err;
  }
  const bad = members.findIndex((m, i) => memberHashes[i]!.digest('hex') !== m.sha256);
  if (bad >= 0) {
    return `has member ${bad} (bytes ${members[bad]!.offset}..${members[bad]!.offset + members[bad]!.bytes - 1}) not matching its SHA-256 ${members[bad]!.sha256}`;
  }
  const sha = whole.digest('hex');
  if (sha !== object.sha256) return `has SHA-256 ${sha}, its manifest says ${object.sha256}`;
  return undefined;
}

/** The batch's export and its supplements, each checked whole: the damaged ones, in object order. */
export async function batchDamage(store: ArchiveStore, m: BatchManifest): Promise<ObjectDamage[]> {
  const damaged: ObjectDamage[] = [];
  for (const object of [m.object, ...(m.supplements ?? []).map((s) => s.object)]) {
    const problem = await objectDamage(store, object);
    if (problem) damaged.push({ key: object.key, problem });
  }
  return damaged;
}

// A MOCK of Warp 10, for unit tests only: it stands in at the WarpScriptRunner seam (src/warp10/runner.ts)
// and never speaks HTTP. It holds series in memory and emulates the bundled scripts archive-plan,
// archive-find, archive-read and archive-delete, with the parameters and output shapes their .mc2 headers define,
// over [start, end] inclusive on both ends. Content hashes are not modelled: its reads give none, so
// its guarded delete compares counts and ticks only. What it is not: a WarpScript interpreter. The behaviour
// against the REAL Warp 10 is covered by test/workflows/archive*.test.ts, and test/warp10/
// mock-warp10.test.ts checks that this mock answers as the real Warp 10 does; the mock is what lets
// the workflow, retry and failure paths run where no Warp 10 exists (CI).
//
// Faithful to the real stack where the product can tell the difference:
//   - series are keyed by their selector as TOSELECTOR prints it: URL-encoded class and labels, labels
//     sorted, the write token's application added as `.app` (`cls{.app=offloader,host=a}`);
//   - a selector matches every series of its class holding at least its labels (so `{host=a}` also
//     matches `{core=1,host=a}`), as FETCH and DELETE do; FETCH over a range skips series with no point
//     in it; the metadata of a series survives the deletion of its points (FIND still lists it);
//   - `stream()` answers the JSON text Warp 10 sends (`[[item,item]]`) in small byte chunks, cut
//     anywhere (inside strings, inside multi-byte characters), and only once the whole script has run;
//   - errors are the client's typed errors (Warp10UnavailableError, WarpScriptError) as httpRunner
//     would throw them, tokens already redacted as the client does.
// `wrapped` is NOT a real WRAP: it is base64 of the JSON of the series' selector and its points in the
// range (see `unwrapMock`), enough to check that an archive holds exactly the points it should.
import { setImmediate as tick } from 'node:timers/promises';
import type { Params, WarpScriptRunner } from '../../src/warp10/runner.ts';
import { Warp10UnavailableError, WarpScriptError } from '../../src/warp10/client.ts';
import { redactString as redactAll } from '../../src/config/redact.ts';
import { loadScript } from '../../src/warp10/warpscript.ts';

export type MockValue = number | boolean | string;

export interface MockPoint {
  ts: number;
  value: MockValue;
}

export type MockScript = 'archive-plan' | 'archive-find' | 'archive-read' | 'archive-delete';

export interface MockCall {
  /** Script name as the runner got it, reduced to its base name (`archive-read`, no `.mc2`). */
  script: string;
  mode: 'run' | 'stream';
  /** A deep copy of the bound parameters. */
  params: Params;
  /** 1 for the first call of this script, 2 for the second... */
  n: number;
  outcome: 'pending' | 'ok' | 'error' | 'hung';
}

/** Which calls an injected behaviour applies to; every call of the script when absent. */
export type CallFilter = (call: MockCall) => boolean;

export type Fault =
  /** Warp 10 cannot be reached: retryable (Warp10UnavailableError kind 'connect'). */
  | { kind: 'unavailable'; message?: string; afterRun?: boolean }
  /** The script failed in Warp 10 with this line and message: not retryable (WarpScriptError). */
  | { kind: 'script'; line?: number; message: string; afterRun?: boolean };
// `afterRun: true` runs the script (its effects happen) and then fails the call: a lost reply.

export interface HangOptions {
  when?: CallFilter;
  /** Hang after half the reply body was sent (stream() only) instead of before any reply. */
  midStream?: boolean;
  /** Give up after this long like the client's timeouts would (Warp10UnavailableError 'timeout'). */
  timeoutMs?: number;
}

export interface Hang {
  /** Resolves with the call once it hangs. */
  readonly started: Promise<MockCall>;
  /** Lets the hung call go on normally. */
  release(): void;
}

export interface MockWarp10Options {
  /** The application of the write token, added to every series as `.app`. Default `offloader`. */
  app?: string;
  /** When set, calls must bind these tokens (like a Warp 10 that knows only them). */
  tokens?: { read: string; write: string };
  /** Bytes per chunk of a streamed reply. Default 16: small, so parsers see items cut anywhere. */
  chunkSize?: number;
  /**
   * FIND's order of series (archive-plan pages). Default: sorted selectors, so tests know the batches.
   * The real order is Warp 10's own (hash-like): a series may come before one holding more labels.
   */
  findOrder?: (a: string, b: string) => number;
}

const SCRIPTS = new Set<string>(['archive-plan', 'archive-find', 'archive-read', 'archive-delete']);

/**
 * Lines Warp 10 reports (in the .mc2 file's numbering, as httpRunner gives them) for the failures the
 * mock emulates: a bad token fails at the first FETCH/FIND; a MSGFAIL inside a loop is reported at the
 * end of the outermost FOREACH around it.
 */
function lineOf(script: string, marker: 'fetch' | 'AMBIGUOUS_SELECTOR'): number {
  const lines = loadScript(script).split('\n');
  if (marker === 'fetch')
    return lines.findIndex((l) => /\b(FETCH|FIND)\b/.test(l) && !l.startsWith('//')) + 1;
  const at = lines.findIndex((l) => l.includes(`'${marker}`));
  return lines.findIndex((l, i) => i > at && l.startsWith('%> FOREACH')) + 1;
}

/** As TOSELECTOR URL-encodes class names, label names and values (Java's URLEncoder: `*` stays raw). */
const enc = (s: string) =>
  encodeURIComponent(s).replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** A label term of a selector: an exact value or a regex (matched against the whole value). */
type Term = { exact: string } | { regex: string };

interface Parsed {
  cls: string;
  labels: Record<string, Term>;
}

/** A selector the real Warp 10 refuses (its message, as Warp 10 words the Java exception). */
export class MockSelectorError extends Error {
  override name = 'MockSelectorError';
}

/** URL-decoded as Warp 10 does (WarpURLDecoder: a raw `+` stays `+`). */
function decode(s: string, selector: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new MockSelectorError(
      `java.lang.IllegalArgumentException: URLDecoder: Illegal hex characters in escape (%) pattern in ${selector}`,
    );
  }
}

/**
 * Parses `class{terms}` as Warp 10 3.5.0 does (GTSHelper.parseLabelsSelectors): terms split on `,` and
 * trimmed; a term holding `=` is split on EVERY `=`, any other term on every `~`, and only the first two
 * pieces are kept, both URL-decoded. So a raw `~` inside a regex (`k~^(?:~a|~b)$`) cuts it to `^(?:`,
 * which does not compile ("Unclosed group"), exactly as on the real one; a raw `=` makes a regex term
 * exact. Regexes are compiled here, so a selector the real Warp 10 refuses is refused here too.
 */
export function parseSelector(selector: string): Parsed {
  const m = /^([^{}]+)\{([^{}]*)\}$/.exec(selector);
  if (!m?.[1]) throw new MockSelectorError(`java.text.ParseException: not a selector: ${selector}`);
  const labels: Record<string, Term> = {};
  for (const raw of (m[2] ?? '').split(',')) {
    const term = raw.trim();
    if (term === '') continue;
    const exact = term.includes('=');
    if (!exact && !term.includes('~')) throw new MockSelectorError(`java.text.ParseException: ${term}`);
    const [name = '', value = ''] = term.split(exact ? '=' : '~');
    const v = decode(value, selector);
    if (!exact) {
      try {
        new RegExp(`^(?:${v})$`, 'u');
      } catch (err) {
        throw new MockSelectorError(
          `java.util.regex.PatternSyntaxException: ${(err as Error).message} (regex ${JSON.stringify(v)} of ${selector})`,
        );
      }
    }
    labels[decode(name, selector)] = exact ? { exact: v } : { regex: v };
  }
  return { cls: decode(m[1], selector), labels };
}

/** Class and labels of a series written as `class{k=v,...}` (input format, add()): exact values only. */
function parseSeries(selector: string): { cls: string; labels: Record<string, string> } {
  const { cls, labels } = parseSelector(selector);
  const out: Record<string, string> = {};
  for (const [k, t] of Object.entries(labels)) {
    if (!('exact' in t)) throw new TypeError(`a series' labels are exact values, not regexes: ${selector}`);
    out[k] = t.exact;
  }
  return { cls, labels: out };
}

/** The selector Warp 10's TOSELECTOR prints for a series: encoded, labels sorted. */
export function toSelector(cls: string, labels: Record<string, string>): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${enc(k)}=${enc(labels[k] ?? '')}`);
  return `${enc(cls)}{${parts.join(',')}}`;
}

/**
 * A class or label selector of the config: `~regex` (whole match, as Java's), `=value` exact (what
 * discovery writes, whatever the value holds) or an exact value.
 */
function valueMatches(pattern: string, value: string): boolean {
  if (pattern.startsWith('~')) return new RegExp(`^(?:${pattern.slice(1)})$`).test(value);
  if (pattern.startsWith('=')) return pattern.slice(1) === value;
  return pattern === value;
}

function termMatches(t: Term, value: string): boolean {
  return 'exact' in t ? t.exact === value : new RegExp(`^(?:${t.regex})$`, 'u').test(value);
}

/** Decodes a `wrapped` value of the mock back to its series. */
export function unwrapMock(wrapped: string): { selector: string; points: MockPoint[] } {
  return JSON.parse(Buffer.from(wrapped, 'base64').toString('utf8')) as {
    selector: string;
    points: MockPoint[];
  };
}

function parseValue(text: string): MockValue {
  if (text === 'T' || text === 'true') return true;
  if (text === 'F' || text === 'false') return false;
  if (text.startsWith("'") && text.endsWith("'")) return decodeURIComponent(text.slice(1, -1));
  const n = Number(text);
  if (!Number.isFinite(n)) throw new TypeError(`unsupported value in the mock: ${text}`);
  return n;
}

interface Series {
  cls: string;
  labels: Record<string, string>;
  points: Map<number, MockValue>;
}

interface FaultRule {
  script: string;
  left: number;
  fault: Fault;
  when?: CallFilter;
}
interface LateWrite {
  script: string;
  selector: string;
  point: MockPoint;
  when?: CallFilter;
}
interface HangRule extends HangOptions {
  script: string;
  hang: Hang;
  onStart(call: MockCall): void;
  released: Promise<void>;
}

export class MockWarp10 implements WarpScriptRunner {
  private readonly series = new Map<string, Series>();
  private readonly log: MockCall[] = [];
  private faults: FaultRule[] = [];
  private lateWrites: LateWrite[] = [];
  private hangs: HangRule[] = [];
  private readonly app: string;
  private readonly tokens: { read: string; write: string } | undefined;
  private readonly chunkSize: number;
  private readonly findOrder: ((a: string, b: string) => number) | undefined;

  constructor(opts: MockWarp10Options = {}) {
    this.app = opts.app ?? 'offloader';
    this.tokens = opts.tokens;
    this.chunkSize = Math.max(1, opts.chunkSize ?? 16);
    this.findOrder = opts.findOrder;
  }

  // ---------------------------------------------------------------------------------------------
  // Data

  /**
   * Adds points to a series given by its selector (`cls{host=a}`); `.app` is added when missing, as the
   * write token would. A point at an existing timestamp replaces it, as in Warp 10's store.
   */
  add(selector: string, points: MockPoint[]): string {
    const { cls, labels } = parseSeries(selector);
    return this.put(cls, labels, points);
  }

  /** Ingests GTS input format lines (`TS/LAT:LON/ELEV class{labels} value`, see seed.ts toInputFormat). */
  update(lines: string): void {
    for (const line of lines.split('\n')) {
      if (line.trim() === '' || line.startsWith('#')) continue;
      const m = /^(\d+)\/[^/ ]*\/\S*\s+([^{}\s]+)\{([^{}]*)\}\s+(.+)$/.exec(line.trim());
      if (!m?.[1] || !m[2] || m[4] === undefined)
        throw new TypeError(`unsupported input format line: ${line}`);
      const { cls, labels } = parseSeries(`${m[2]}{${m[3] ?? ''}}`);
      this.put(cls, labels, [{ ts: Number(m[1]), value: parseValue(m[4]) }]);
    }
  }

  private put(cls: string, labels: Record<string, string>, points: MockPoint[]): string {
    const all = { '.app': this.app, ...labels };
    const selector = toSelector(cls, all);
    let s = this.series.get(selector);
    if (!s) {
      s = { cls, labels: all, points: new Map() };
      this.series.set(selector, s);
    }
    for (const p of points) {
      if (!Number.isSafeInteger(p.ts)) throw new TypeError(`timestamp ${p.ts} is not an integer`);
      s.points.set(p.ts, p.value);
    }
    return selector;
  }

  /** Every selector known (metadata), sorted. */
  selectors(): string[] {
    return [...this.series.keys()].sort();
  }

  /** The points of a series, oldest first; [] for an unknown series. */
  points(selector: string): MockPoint[] {
    const s = this.series.get(selector);
    if (!s) return [];
    return [...s.points.entries()].sort(([a], [b]) => a - b).map(([ts, value]) => ({ ts, value }));
  }

  /** A deep copy of everything stored, by selector: compare two snapshots to prove nothing changed. */
  snapshot(): Record<string, MockPoint[]> {
    return Object.fromEntries(this.selectors().map((sel) => [sel, this.points(sel)]));
  }

  // ---------------------------------------------------------------------------------------------
  // Calls and injected behaviour

  /** Calls received, oldest first, optionally only those of one script and matching a filter. */
  calls(script?: MockScript, when?: CallFilter): MockCall[] {
    return this.log.filter((c) => (script === undefined || c.script === script) && (!when || when(c)));
  }

  /** Fails the next `count` calls of `script` that match `when`. Rules apply in the order given. */
  failNext(script: MockScript, count: number, fault: Fault, when?: CallFilter): void {
    this.faults.push({ script, left: count, fault, ...(when ? { when } : {}) });
  }

  /** Right after the next matching call of `script` has run (before its reply), writes `point`. */
  lateWrite(script: MockScript, selector: string, point: MockPoint, when?: CallFilter): void {
    this.lateWrites.push({ script, selector, point, ...(when ? { when } : {}) });
  }

  /** The next matching call of `script` hangs until its signal aborts, `timeoutMs` passes or release(). */
  hang(script: MockScript, opts: HangOptions = {}): Hang {
    let onStart!: (c: MockCall) => void;
    let release!: () => void;
    const started = new Promise<MockCall>((r) => (onStart = r));
    const released = new Promise<void>((r) => (release = r));
    const hang: Hang = { started, release };
    this.hangs.push({ ...opts, script, hang, onStart, released });
    return hang;
  }

  /** Forgets pending faults, late writes and hangs (releasing the hangs). */
  clearInjections(): void {
    this.faults = [];
    this.lateWrites = [];
    for (const h of this.hangs) h.hang.release();
    this.hangs = [];
  }

  // ---------------------------------------------------------------------------------------------
  // WarpScriptRunner

  async run<T = unknown[]>(script: string, params: Params, signal?: AbortSignal): Promise<T> {
    const call = this.record(script, 'run', params);
    try {
      const hang = this.takeHang(call);
      if (hang) await this.waitHang(call, hang, signal);
      const text = JSON.stringify(this.execute(call, signal));
      call.outcome = 'ok';
      return JSON.parse(text) as T;
    } catch (err) {
      call.outcome = call.outcome === 'hung' ? 'hung' : 'error';
      throw err;
    }
  }

  async stream(script: string, params: Params, signal?: AbortSignal): Promise<AsyncIterable<Uint8Array>> {
    const call = this.record(script, 'stream', params);
    let bytes: Uint8Array;
    let hang: HangRule | undefined;
    try {
      hang = this.takeHang(call);
      if (hang && !hang.midStream) await this.waitHang(call, hang, signal);
      // Warp 10 runs the whole script before it sends the first byte.
      bytes = new TextEncoder().encode(JSON.stringify(this.execute(call, signal)));
    } catch (err) {
      call.outcome = call.outcome === 'hung' ? 'hung' : 'error';
      throw err;
    }
    call.outcome = 'ok';
    const chunkSize = this.chunkSize;
    const midHang = hang?.midStream ? hang : undefined;
    const waitMidStream = (h: HangRule) => this.waitHang(call, h, signal, true);
    return (async function* body() {
      const half = Math.floor(bytes.length / 2);
      let hung = false;
      for (let i = 0; i < bytes.length; i += chunkSize) {
        if (midHang && !hung && i >= half) {
          hung = true;
          await waitMidStream(midHang);
        }
        if (signal?.aborted) throw signal.reason ?? new Error('aborted');
        yield bytes.slice(i, i + chunkSize);
        // Let other work run between chunks, like a socket would.
        if ((i / chunkSize) % 64 === 63) await tick();
      }
    })();
  }

  private record(script: string, mode: 'run' | 'stream', params: Params): MockCall {
    const name = script.replace(/^.*\//, '').replace(/\.mc2$/, '');
    const n = this.log.filter((c) => c.script === name).length + 1;
    const call: MockCall = { script: name, mode, params: structuredClone(params), n, outcome: 'pending' };
    this.log.push(call);
    return call;
  }

  private takeHang(call: MockCall): HangRule | undefined {
    const i = this.hangs.findIndex((h) => h.script === call.script && (!h.when || h.when(call)));
    if (i < 0) return undefined;
    const [h] = this.hangs.splice(i, 1);
    return h;
  }

  /** Waits like a request with no answer: the signal's abort or a timeout ends it as the client would. */
  private async waitHang(call: MockCall, h: HangRule, signal: AbortSignal | undefined, inBody = false) {
    call.outcome = 'hung';
    h.onStart(call);
    const outcome = await new Promise<'released' | 'aborted' | 'timeout'>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (v: 'released' | 'aborted' | 'timeout') => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(v);
      };
      const onAbort = () => finish('aborted');
      if (signal?.aborted) return finish('aborted');
      signal?.addEventListener('abort', onAbort, { once: true });
      if (h.timeoutMs !== undefined) timer = setTimeout(() => finish('timeout'), h.timeoutMs);
      void h.released.then(() => finish('released'));
    });
    if (outcome === 'released') {
      call.outcome = inBody ? 'ok' : 'pending';
      return;
    }
    if (outcome === 'timeout') {
      throw new Warp10UnavailableError(
        `${call.script}.mc2: Warp 10 at mock://warp10 timed out (mock: hung ${h.timeoutMs} ms)`,
        'timeout',
      );
    }
    throw this.abortError(call.script, signal, inBody);
  }

  /**
   * What httpRunner throws when the activity's signal aborts: in a reply body, undici rethrows the
   * signal's reason; before the reply, Warp10Client maps an AbortError to kind 'aborted' and anything
   * else (Temporal aborts with a CancelledFailure) to kind 'connect'.
   */
  private abortError(script: string, signal: AbortSignal | undefined, inBody: boolean): unknown {
    const reason = signal?.reason as { name?: string; message?: string } | undefined;
    if (inBody) return reason ?? new Error('aborted');
    if (reason === undefined || reason.name === 'AbortError') {
      return new Warp10UnavailableError(`${script}.mc2: request to Warp 10 aborted`, 'aborted');
    }
    return new Warp10UnavailableError(
      `${script}.mc2: cannot reach Warp 10 at mock://warp10 (${reason.message ?? String(reason)})`,
      'connect',
    );
  }

  private takeFault(call: MockCall, afterRun: boolean): Fault | undefined {
    const rule = this.faults.find(
      (f) =>
        f.left > 0 &&
        f.script === call.script &&
        Boolean(f.fault.afterRun) === afterRun &&
        (!f.when || f.when(call)),
    );
    if (!rule) return undefined;
    rule.left--;
    this.faults = this.faults.filter((f) => f.left > 0);
    return rule.fault;
  }

  private faultError(call: MockCall, fault: Fault): Error {
    if (fault.kind === 'unavailable') {
      return new Warp10UnavailableError(
        fault.message ??
          `${call.script}.mc2: cannot reach Warp 10 at mock://warp10 (connect ECONNREFUSED 127.0.0.1:1 ECONNREFUSED)`,
        'connect',
      );
    }
    return this.scriptError(call.script, fault.line, fault.message);
  }

  /** A WarpScriptError as Warp10Client builds it, tokens redacted from Warp 10's message. */
  private scriptError(script: string, line: number | undefined, message: string): WarpScriptError {
    const secrets = this.tokens ? [this.tokens.read, this.tokens.write] : [];
    // Named like httpRunner names it: the .mc2 file, whose numbering `line` follows.
    return new WarpScriptError(`${script}.mc2`, line, redactAll(message, secrets), 500);
  }

  private execute(call: MockCall, signal: AbortSignal | undefined): unknown[] {
    if (signal?.aborted) throw this.abortError(call.script, signal, false);
    const before = this.takeFault(call, false);
    if (before) throw this.faultError(call, before);
    if (!SCRIPTS.has(call.script)) {
      throw this.scriptError(call.script, 1, `mock Warp 10 does not emulate the script ${call.script}`);
    }
    const p = call.params;
    let stack: unknown[];
    if (call.script === 'archive-plan') stack = [this.plan(p)];
    else if (call.script === 'archive-find') stack = [this.find(p)];
    else if (call.script === 'archive-read') stack = [this.read(p)];
    else stack = [this.delete(p)];
    for (const w of this.lateWrites.filter((l) => l.script === call.script && (!l.when || l.when(call)))) {
      this.lateWrites.splice(this.lateWrites.indexOf(w), 1);
      this.add(w.selector, [w.point]);
    }
    const after = this.takeFault(call, true);
    if (after) throw this.faultError(call, after);
    return stack;
  }

  // ---------------------------------------------------------------------------------------------
  // The scripts

  private checkToken(script: string, value: unknown, kind: 'read' | 'write'): void {
    if (typeof value !== 'string') throw this.badParam(script, `${kind} token`, value);
    if (this.tokens && value !== this.tokens[kind]) {
      throw this.scriptError(
        script,
        lineOf(script, 'fetch'),
        `Exception at 'FETCH' in section [TOP] (Invalid token ${value}.)`,
      );
    }
  }

  private badParam(script: string, what: string, value: unknown): WarpScriptError {
    return this.scriptError(
      script,
      1,
      `mock: bad parameter ${what}: ${JSON.stringify(value)?.slice(0, 100)}`,
    );
  }

  private range(script: string, p: Params): [number, number] {
    const { start, end } = p;
    if (typeof start !== 'number' || !Number.isSafeInteger(start))
      throw this.badParam(script, 'start', start);
    if (typeof end !== 'number' || !Number.isSafeInteger(end)) throw this.badParam(script, 'end', end);
    return [start, end];
  }

  /** Points of `s` in [start, end], both inclusive, oldest first. */
  private inRange(s: Series, start: number, end: number): MockPoint[] {
    return [...s.points.entries()]
      .filter(([ts]) => ts >= start && ts <= end)
      .sort(([a], [b]) => a - b)
      .map(([ts, value]) => ({ ts, value }));
  }

  /** Series a selector matches: same class, at least the selector's labels (extra labels allowed). */
  private matching(script: string, selector: string): [string, Series][] {
    let parsed: Parsed;
    try {
      parsed = parseSelector(selector);
    } catch (err) {
      if (!(err instanceof MockSelectorError)) throw err;
      throw this.scriptError(
        script,
        lineOf(script, 'fetch'),
        `Exception at 'FETCH' in section [TOP] (${err.message})`,
      );
    }
    const { cls, labels } = parsed;
    return [...this.series.entries()].filter(
      ([, s]) =>
        s.cls === cls &&
        Object.entries(labels).every(([k, t]) => s.labels[k] !== undefined && termMatches(t, s.labels[k])),
    );
  }

  /** FETCH over a range: every series some selector matches and that has a point in [start, end]. */
  private fetch(script: string, selectors: string[], start: number, end: number): Map<string, MockPoint[]> {
    const out = new Map<string, MockPoint[]>();
    for (const sel of selectors) {
      for (const [key, s] of this.matching(script, sel)) {
        const pts = this.inRange(s, start, end);
        if (pts.length > 0) out.set(key, pts);
      }
    }
    return new Map([...out.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  private selectorsParam(script: string, value: unknown, what = 'selectors'): string[] {
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))
      throw this.badParam(script, what, value);
    return value as string[];
  }

  /** archive-plan: one FIND page (stable order), and which of its series have data in the range. */
  /** archive-find: a page of the dataset's series by metadata alone (no range, no data read). */
  private find(p: Params): { matched: number; selectors: string[] } {
    const page = this.page('archive-find', p);
    return { matched: page.length, selectors: page };
  }

  private plan(p: Params): { matched: number; selectors: string[] } {
    const script = 'archive-plan';
    const [start, end] = this.range(script, p);
    const page = this.page(script, p);
    const selectors = page.filter(
      (sel) => this.inRange(this.series.get(sel) as Series, start, end).length > 0,
    );
    return { matched: page.length, selectors };
  }

  /** FIND's page of the series matching class and labels, in FIND's order. */
  private page(script: string, p: Params): string[] {
    this.checkToken(script, p.token, 'read');
    const { class: cls, labels, gskip, gcount } = p;
    if (typeof cls !== 'string') throw this.badParam(script, 'class', cls);
    if (labels === null || typeof labels !== 'object' || Array.isArray(labels))
      throw this.badParam(script, 'labels', labels);
    if (typeof gskip !== 'number' || typeof gcount !== 'number' || gskip < 0 || gcount < 1)
      throw this.badParam(script, 'gskip/gcount', [gskip, gcount]);
    const listed = this.findOrder ? this.selectors().sort(this.findOrder) : this.selectors();
    const found = listed.filter((sel) => {
      const s = this.series.get(sel) as Series;
      return (
        valueMatches(cls, s.cls) &&
        Object.entries(labels).every(
          ([k, v]) => typeof v === 'string' && s.labels[k] !== undefined && valueMatches(v, s.labels[k]),
        )
      );
    });
    return found.slice(gskip, gskip + gcount);
  }

  /** archive-read: [selector points first last wrapped] for the listed series with data in the range. */
  private read(p: Params): [string, number, number, number, string | null][] {
    const script = 'archive-read';
    this.checkToken(script, p.token, 'read');
    const [start, end] = this.range(script, p);
    const selectors = this.selectorsParam(script, p.selectors);
    if (typeof p.wrap !== 'boolean') throw this.badParam(script, 'wrap', p.wrap);
    const wanted = new Set(selectors);
    const out: [string, number, number, number, string | null][] = [];
    // FETCH gets $fetch when given (the few selectors covering the batch), as the .mc2 does.
    const fetchSels = p.fetch === undefined ? selectors : this.selectorsParam(script, p.fetch, 'fetch');
    for (const [sel, pts] of this.fetch(script, fetchSels, start, end)) {
      if (!wanted.has(sel)) continue;
      const first = pts[0]?.ts as number;
      const last = pts[pts.length - 1]?.ts as number;
      const wrapped = p.wrap
        ? Buffer.from(JSON.stringify({ selector: sel, points: pts }), 'utf8').toString('base64')
        : null;
      out.push([sel, pts.length, first, last, wrapped]);
    }
    return out;
  }

  /** archive-delete: the guarded delete, same checks and order as the .mc2. */
  private delete(p: Params): {
    deleted: number;
    alreadyGone: number;
    checked: number;
    changed: [string, number, number | null, number | null][];
  } {
    const script = 'archive-delete';
    this.checkToken(script, p.readToken, 'read');
    this.checkToken(script, p.writeToken, 'write');
    const [start, end] = this.range(script, p);
    if (!Array.isArray(p.expected)) throw this.badParam(script, 'expected', p.expected);
    const expected = p.expected.map((e) => {
      if (
        !Array.isArray(e) ||
        typeof e[0] !== 'string' ||
        typeof e[1] !== 'number' ||
        !(e[2] === null || typeof e[2] === 'number') ||
        !(e[3] === null || typeof e[3] === 'number')
      ) {
        throw this.badParam(script, 'expected item', e);
      }
      return e as [string, number, number | null, number | null];
    });
    const want = new Set(expected.map((e) => e[0]));
    const live = this.fetch(
      script,
      expected.map((e) => e[0]),
      start,
      end,
    );
    const todelete: string[] = [];
    const changed: [string, number, number | null, number | null][] = [];
    let alreadyGone = 0;
    for (const [sel, points, first, last] of expected) {
      const l = want.has(sel) ? live.get(sel) : undefined;
      const n = l?.length ?? 0;
      if (n === 0) {
        alreadyGone++;
        continue;
      }
      const lf = l?.[0]?.ts ?? null;
      const ll = l?.[n - 1]?.ts ?? null;
      if (n === points && lf === first && ll === last) {
        todelete.push(sel);
        continue;
      }
      changed.push([sel, n, lf, ll]);
    }
    // Late data: nothing deleted, the changed series handed back.
    if (changed.length > 0) return { deleted: 0, alreadyGone: 0, checked: expected.length, changed };
    if (!Array.isArray(p.groups)) throw this.badParam(script, 'groups', p.groups);
    const groups = p.groups.map((g) => {
      if (!Array.isArray(g) || typeof g[0] !== 'string' || !Array.isArray(g[1]))
        throw this.badParam(script, 'groups item', g);
      return [g[0], this.selectorsParam(script, g[1], 'group members')] as const;
    });
    const inBatch = new Set(expected.map((e) => e[0]));
    const now = new Set(todelete);
    const plan: [string, Series[]][] = [];
    for (const [sel, members] of groups) {
      if (!members.some((m) => now.has(m))) continue;
      const matches = this.matching(script, sel);
      for (const [m, s] of matches) {
        if (!inBatch.has(m) && this.inRange(s, start, end).length > 0) {
          throw this.scriptError(
            script,
            lineOf(script, 'AMBIGUOUS_SELECTOR'),
            `Exception at 'MSGFAIL' in section [TOP] (MSGFAIL AMBIGUOUS_SELECTOR ${sel} also matches ${m} which has data in the month but is not in this batch)`,
          );
        }
      }
      plan.push([sel, matches.map(([, s]) => s)]);
    }
    for (const [, matches] of plan) {
      for (const s of matches)
        for (const ts of [...s.points.keys()]) if (ts >= start && ts <= end) s.points.delete(ts);
    }
    return { deleted: todelete.length, alreadyGone, checked: expected.length, changed: [] };
  }
}

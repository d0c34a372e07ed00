import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  MonthError,
  addMonths,
  assertArchivableMonth,
  compareMonths,
  formatMonth,
  monthOf,
  monthRange,
  monthsBetween,
  parseMonth,
  previousMonth,
} from '../src/month.ts';

/** Local calendar date of an instant in a zone, computed independently with Intl. */
function localDate(ms: number, timeZone: string): string {
  const f = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  });
  return f.format(new Date(ms));
}

describe('parseMonth', () => {
  test('valid months', () => {
    assert.deepEqual(parseMonth('2026-01'), { year: 2026, month: 1 });
    assert.deepEqual(parseMonth('2028-12'), { year: 2028, month: 12 });
  });

  for (const bad of [
    '2026-13',
    '2026-00',
    '26-01',
    '2026-1',
    '2026/01',
    ' 2026-01',
    '2026-01-01',
    '',
    'abcd-ef',
  ]) {
    test(`rejects ${JSON.stringify(bad)}`, () => {
      assert.throws(() => parseMonth(bad), MonthError);
    });
  }

  test('messages say what is wrong', () => {
    assert.throws(() => parseMonth('2026-13'), {
      message: 'invalid month "2026-13": the month must be between 01 and 12',
    });
    assert.throws(() => parseMonth('26-01'), {
      message:
        'invalid month "26-01": expected YYYY-MM with a 4-digit year and a 2-digit month, e.g. 2026-01',
    });
    assert.throws(() => parseMonth('2026-1'), /expected YYYY-MM with a 4-digit year and a 2-digit month/);
    assert.throws(() => parseMonth('1969-12'), /the year must be between 1970 and 9999/);
  });

  test('formatMonth pads', () => {
    assert.equal(formatMonth({ year: 2026, month: 3 }), '2026-03');
  });
});

describe('month arithmetic', () => {
  test('addMonths across years', () => {
    assert.equal(addMonths('2026-12', 1), '2027-01');
    assert.equal(addMonths('2027-01', -1), '2026-12');
    assert.equal(addMonths('2026-05', -17), '2024-12');
    assert.equal(addMonths('2026-05', 0), '2026-05');
  });

  test('compareMonths', () => {
    assert.equal(compareMonths('2026-01', '2026-02'), -1);
    assert.equal(compareMonths('2027-01', '2026-12'), 1);
    assert.equal(compareMonths('2026-07', '2026-07'), 0);
  });

  test('monthsBetween is inclusive and ascending, across a year', () => {
    assert.deepEqual(monthsBetween('2026-11', '2027-02'), ['2026-11', '2026-12', '2027-01', '2027-02']);
    assert.deepEqual(monthsBetween('2026-05', '2026-05'), ['2026-05']);
  });

  test('monthsBetween refuses a reversed range', () => {
    assert.throws(() => monthsBetween('2026-03', '2026-02'), {
      name: 'MonthError',
      message: 'invalid month range: 2026-03 is after 2026-02',
    });
  });

  test('monthsBetween validates both ends', () => {
    assert.throws(() => monthsBetween('2026-01', '2026-13'), MonthError);
  });
});

describe('monthRange', () => {
  test('UTC', () => {
    assert.deepEqual(monthRange('2026-01', 'UTC'), {
      startUs: 1_767_225_600_000_000n,
      endUs: 1_769_904_000_000_000n,
      startIso: '2026-01-01T00:00:00Z',
      endIso: '2026-02-01T00:00:00Z',
    });
  });

  test('year rollover: 2026-12 ends when 2027-01 starts', () => {
    const dec = monthRange('2026-12', 'UTC');
    const jan = monthRange('2027-01', 'UTC');
    assert.equal(dec.endIso, '2027-01-01T00:00:00Z');
    assert.equal(dec.endUs, jan.startUs);
  });

  test('leap year: 2028-02 has 29 days, 2027-02 has 28', () => {
    const leap = monthRange('2028-02', 'UTC');
    assert.equal(leap.endIso, '2028-03-01T00:00:00Z');
    assert.equal(leap.endUs - leap.startUs, 29n * 86_400_000_000n);
    const common = monthRange('2027-02', 'UTC');
    assert.equal(common.endUs - common.startUs, 28n * 86_400_000_000n);
  });

  test('Europe/Paris across the March DST change', () => {
    const r = monthRange('2026-03', 'Europe/Paris');
    assert.equal(r.startIso, '2026-02-28T23:00:00Z');
    assert.equal(r.endIso, '2026-03-31T22:00:00Z');
    // 31 days minus the hour lost on 2026-03-29.
    assert.equal(r.endUs - r.startUs, (31n * 24n - 1n) * 3_600_000_000n);
    assert.equal(monthRange('2026-04', 'Europe/Paris').startIso, '2026-03-31T22:00:00Z');
  });

  test('Europe/Paris across the October DST change', () => {
    const r = monthRange('2026-10', 'Europe/Paris');
    assert.equal(r.startIso, '2026-09-30T22:00:00Z');
    assert.equal(r.endIso, '2026-10-31T23:00:00Z');
    assert.equal(r.endUs - r.startUs, (31n * 24n + 1n) * 3_600_000_000n);
  });

  test('southern hemisphere DST (Australia/Sydney) and a half-hour zone (Asia/Kolkata)', () => {
    assert.equal(monthRange('2026-01', 'Australia/Sydney').startIso, '2025-12-31T13:00:00Z');
    assert.equal(monthRange('2026-07', 'Australia/Sydney').startIso, '2026-06-30T14:00:00Z');
    assert.equal(monthRange('2026-01', 'Asia/Kolkata').startIso, '2025-12-31T18:30:00Z');
  });

  test('America/New_York: a negative offset moves the start later', () => {
    assert.equal(monthRange('2026-01', 'America/New_York').startIso, '2026-01-01T05:00:00Z');
    assert.equal(monthRange('2026-07', 'America/New_York').startIso, '2026-07-01T04:00:00Z');
  });

  test('midnight that does not exist: America/Asuncion 2017-10-01 (DST started at 00:00)', () => {
    const r = monthRange('2017-10', 'America/Asuncion');
    assert.equal(r.startIso, '2017-10-01T04:00:00Z');
    assert.equal(localDate(Date.parse(r.startIso), 'America/Asuncion'), '2017-10-01, 01:00:00');
    assert.equal(localDate(Date.parse(r.startIso) - 1000, 'America/Asuncion'), '2017-09-30, 23:59:59');
    assert.equal(monthRange('2017-09', 'America/Asuncion').endUs, r.startUs);
  });

  test('midnight that does not exist, positive offset: Asia/Damascus 2000-04-01 (search path)', () => {
    const r = monthRange('2000-04', 'Asia/Damascus');
    assert.equal(r.startIso, '2000-03-31T22:00:00Z');
    assert.equal(localDate(Date.parse(r.startIso), 'Asia/Damascus'), '2000-04-01, 01:00:00');
    assert.equal(localDate(Date.parse(r.startIso) - 1000, 'Asia/Damascus'), '2000-03-31, 23:59:59');
  });

  test('zones with DST changes at midnight tile correctly, 1970-2030', () => {
    for (const tz of ['Asia/Damascus', 'Asia/Beirut', 'Asia/Amman', 'America/Asuncion', 'America/Havana']) {
      let previousEnd: bigint | undefined;
      for (const m of monthsBetween('1970-01', '2030-12')) {
        const r = monthRange(m, tz);
        const start = Number(r.startUs / 1000n);
        assert.ok(
          localDate(start, tz).startsWith(`${m}-01,`),
          `${tz} ${m} starts at ${localDate(start, tz)}`,
        );
        assert.ok(
          !localDate(start - 1000, tz).startsWith(m),
          `${tz} ${m}: the second before is in the month`,
        );
        if (previousEnd !== undefined) assert.equal(r.startUs, previousEnd, `${tz} ${m} does not tile`);
        previousEnd = r.endUs;
      }
    }
  });

  test('µs and ISO agree', () => {
    const r = monthRange('2026-03', 'Europe/Paris');
    assert.equal(r.startUs, BigInt(Date.parse(r.startIso)) * 1000n);
    assert.equal(r.endUs, BigInt(Date.parse(r.endIso)) * 1000n);
  });

  test('every month 2020-2030 starts at the first local second of the month, in several zones', () => {
    const zones = [
      'UTC',
      'Europe/Paris',
      'America/Sao_Paulo',
      'America/Santiago',
      'Australia/Lord_Howe',
      'Pacific/Chatham',
      'Pacific/Kiritimati',
      'Pacific/Pago_Pago',
    ];
    for (const tz of zones) {
      let previousEnd: bigint | undefined;
      for (const m of monthsBetween('2020-01', '2030-12')) {
        const r = monthRange(m, tz);
        const start = Number(r.startUs / 1000n);
        assert.ok(
          localDate(start, tz).startsWith(`${m}-01,`),
          `${tz} ${m} starts at ${localDate(start, tz)}`,
        );
        assert.ok(
          !localDate(start - 1000, tz).startsWith(m),
          `${tz} ${m}: the second before is in the month`,
        );
        if (previousEnd !== undefined) assert.equal(r.startUs, previousEnd, `${tz} ${m} does not tile`);
        previousEnd = r.endUs;
      }
    }
  });

  test('an unknown zone is refused', () => {
    assert.throws(() => monthRange('2026-01', 'Mars/Olympus'), {
      name: 'MonthError',
      message: /unknown time zone "Mars\/Olympus"/,
    });
  });
});

describe('monthOf and previousMonth', () => {
  test('the monthly schedule: 2026-12-01T00:30 in Paris archives 2026-11', () => {
    // 00:30 in Paris on 1 December is still 30 November in UTC.
    const at = new Date('2026-11-30T23:30:00Z');
    assert.equal(monthOf(at, 'Europe/Paris'), '2026-12');
    assert.equal(previousMonth(at, 'Europe/Paris'), '2026-11');
    assert.equal(previousMonth(at, 'UTC'), '2026-10');
  });

  test('January gives the previous year December', () => {
    assert.equal(previousMonth(new Date('2027-01-15T12:00:00Z'), 'UTC'), '2026-12');
    assert.equal(previousMonth(new Date('2027-01-01T00:00:00Z'), 'UTC'), '2026-12');
  });

  test('zone matters at month boundaries', () => {
    const at = new Date('2026-03-01T02:00:00Z');
    assert.equal(monthOf(at, 'America/New_York'), '2026-02');
    assert.equal(monthOf(at, 'UTC'), '2026-03');
  });
});

describe('assertArchivableMonth', () => {
  const now = new Date('2026-11-15T10:00:00Z');

  test('past months are archivable', () => {
    assert.doesNotThrow(() => assertArchivableMonth('2026-10', now, 'UTC'));
    assert.doesNotThrow(() => assertArchivableMonth('2020-01', now, 'UTC'));
  });

  test('the current month is refused', () => {
    assert.throws(() => assertArchivableMonth('2026-11', now, 'UTC'), {
      name: 'MonthError',
      message:
        '2026-11 is the current month in UTC; only complete months can be archived (the latest is 2026-10)',
    });
  });

  test('a future month is refused', () => {
    assert.throws(() => assertArchivableMonth('2027-01', now, 'UTC'), {
      message:
        '2027-01 is in the future in UTC (the current month is 2026-11); only complete months can be archived (the latest is 2026-10)',
    });
  });

  test('completeness depends on the zone', () => {
    // 23:30 UTC on 31 October is already November in Paris: October is complete there, not in UTC.
    const late = new Date('2026-10-31T23:30:00Z');
    assert.doesNotThrow(() => assertArchivableMonth('2026-10', late, 'Europe/Paris'));
    assert.throws(() => assertArchivableMonth('2026-10', late, 'UTC'), /current month in UTC/);
  });

  test('January: the latest archivable month is last December', () => {
    assert.throws(
      () => assertArchivableMonth('2027-01', new Date('2027-01-10T00:00:00Z'), 'UTC'),
      /the latest is 2026-12\)$/,
    );
  });

  test('an invalid month is refused', () => {
    assert.throws(() => assertArchivableMonth('2026-1', now, 'UTC'), /expected YYYY-MM/);
  });
});

// The one table `npm run bench` ends with: every figure of issue 9 next to its plain-script baseline.
export interface BenchRow {
  figure: string;
  offloader: string;
  plain: string;
  ratio: string;
}

export function printTable(rows: BenchRow[]): void {
  console.log('');
  console.log('| figure | offloader | baseline (plain script unless said; same run) | ratio |');
  console.log('|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.figure} | ${r.offloader} | ${r.plain} | ${r.ratio} |`);
}

/**
 * Exploration (issue 16, benchmarks): a simulated feed with planted true CTRs (src/ranking/simulate.ts) — part
 * of the catalogue established, part new — served by the oracle (true best items, the baseline), greedy
 * posterior-mean ranking without exploration, and Thompson sampling on a share of the slots. Figures are means
 * over seeds; the loss is 1 − expected clicks / the oracle's, expected clicks being Σ true CTR of what was shown
 * (the drawn clicks are printed too).
 *
 *   npm run bench -- explore [--horizons 10000,100000] [--seeds 10] [--shares 0.1,0.2,1] [--items 200]
 *                            [--new-items 50] [--slots 10] [--warm 200]
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import {
  DEFAULT_SIMULATION,
  type ExplorationPolicy,
  type ExplorationSimulation,
  simulateExploration,
} from '../src/ranking/simulate.ts';
import { machine, type Row, table, time } from './lib.ts';

function numbers(s: string): number[] {
  return s.split(',').map(Number);
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      horizons: { type: 'string', default: '10000,100000' },
      seeds: { type: 'string', default: '10' },
      shares: { type: 'string', default: '0.1,0.2,1' },
      items: { type: 'string', default: String(DEFAULT_SIMULATION.items) },
      'new-items': { type: 'string', default: String(DEFAULT_SIMULATION.newItems) },
      slots: { type: 'string', default: String(DEFAULT_SIMULATION.slots) },
      warm: { type: 'string', default: String(DEFAULT_SIMULATION.warmImpressions) },
    },
  });
  const seeds = Number(values.seeds);
  const base: ExplorationSimulation = {
    ...DEFAULT_SIMULATION,
    items: Number(values.items),
    newItems: Number(values['new-items']),
    slots: Number(values.slots),
    warmImpressions: Number(values.warm),
  };
  const policies: { name: string; policy: ExplorationPolicy }[] = [
    { name: 'oracle (baseline)', policy: { kind: 'oracle' } },
    { name: 'greedy, no exploration', policy: { kind: 'greedy' } },
    ...numbers(values.shares as string).map((share) => ({
      name: `Thompson, share ${share}`,
      policy: { kind: 'thompson', share } as ExplorationPolicy,
    })),
  ];
  console.log(`# explore — ${machine()}, load ${loadavg()[0].toFixed(1)}`);
  console.log(
    `catalogue ${base.items} items (${base.newItems} new, the others shown ${base.warmImpressions} times before), ` +
      `${base.slots} slots per request, true CTR ~ Beta(${base.ctrMean}·${base.ctrStrength}, ` +
      `${1 - base.ctrMean}·${base.ctrStrength}), prior strength ${base.priorStrength}, seeds 1..${seeds}\n`,
  );
  const rows: Row[] = [];
  for (const impressions of numbers(values.horizons as string)) {
    let oracleExpected = 0;
    for (const { name, policy } of policies) {
      let expected = 0;
      let clicks = 0;
      let newImpressions = 0;
      let found = 0;
      let best = 0;
      const { seconds } = time(() => {
        for (let seed = 1; seed <= seeds; seed++) {
          const o = simulateExploration({ ...base, impressions, seed }, policy);
          expected += o.expectedClicks / seeds;
          clicks += o.clicks / seeds;
          newImpressions += o.newItemImpressions / seeds;
          found += o.newBestFound;
          best += o.newBest;
        }
      });
      if (policy.kind === 'oracle') oracleExpected = expected;
      rows.push({
        impressions,
        policy: name,
        'expected clicks': expected,
        'clicks drawn': clicks,
        'loss vs oracle': `${((1 - expected / oracleExpected) * 100).toFixed(1)}%`,
        'new-item impressions': newImpressions,
        'new best items found': `${found}/${best}`,
        seconds,
      });
    }
  }
  console.log(table(rows));
}

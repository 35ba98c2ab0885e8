/**
 * Every candidate source, by name. A source is built from a loaded version and is absent (null) when the version
 * lacks what it needs; adding a source means one module in this folder and one line here.
 */
import type { CandidateSource } from '../candidate-source.ts';
import type { ServingModel } from '../serving-model.ts';
import { denseSource } from './dense.ts';
import { popularSource } from './popular.ts';
import { simclustersSource } from './simclusters.ts';

export const SOURCE_FACTORIES: Readonly<Record<string, (model: ServingModel) => CandidateSource | null>> = {
  simclusters: simclustersSource,
  dense: denseSource,
  popular: popularSource,
};

/** The sources this version can serve, in registry order. */
export function candidateSources(model: ServingModel): CandidateSource[] {
  const out: CandidateSource[] = [];
  for (const make of Object.values(SOURCE_FACTORIES)) {
    const s = make(model);
    if (s) out.push(s);
  }
  return out;
}

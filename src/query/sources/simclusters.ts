/** SimClusters ANN as a candidate source: ServingModel.candidates with the version's default query parameters. */
import { SimrecError } from '../../core/errors.ts';
import type {
  CandidateFilter,
  CandidateList,
  CandidateSource,
  CandidateSubject,
} from '../candidate-source.ts';
import type { QuerySubject, ServingModel } from '../serving-model.ts';

const SUBJECT_KEYS = ['userId', 'itemId', 'producerId', 'topic', 'embedding'] as const;

export function simclustersSource(model: ServingModel): CandidateSource | null {
  if (!model.hasSimClusters) return null;
  return {
    name: 'simclusters',
    async retrieve(
      subject: CandidateSubject,
      limit: number,
      filter: CandidateFilter = {},
    ): Promise<CandidateList> {
      const keys = Object.keys(subject);
      if (keys.length !== 1 || !SUBJECT_KEYS.includes(keys[0] as (typeof SUBJECT_KEYS)[number]))
        throw new SimrecError(
          'CONFIG_INVALID',
          `simclusters retrieves for one of ${SUBJECT_KEYS.join(', ')}; got ${keys.join(', ') || 'nothing'}`,
          { field: 'source' },
        );
      const r = await model.candidates(subject as QuerySubject, { limit }, filter);
      return {
        items: r.result.items,
        scores: r.result.scores,
        stats: { ...r.result.stats, sourceEmbedding: r.sourceEmbedding },
      };
    },
  };
}

/**
 * Popularity as a candidate source: trending items by the live overlay's decayed engagement counters, or the
 * version's most engaged items when nothing live is counted (ServingModel.popular). Every version can serve it.
 */
import { SimrecError } from '../../core/errors.ts';
import type {
  CandidateFilter,
  CandidateList,
  CandidateSource,
  CandidateSubject,
} from '../candidate-source.ts';
import type { ServingModel } from '../serving-model.ts';

export function popularSource(model: ServingModel): CandidateSource {
  return {
    name: 'popular',
    async retrieve(
      subject: CandidateSubject,
      limit: number,
      filter: CandidateFilter = {},
    ): Promise<CandidateList> {
      const keys = Object.keys(subject);
      const usable =
        keys.length === 0 || (keys.length === 1 && (keys[0] === 'userId' || keys[0] === 'itemId'));
      if (!usable)
        throw new SimrecError(
          'CONFIG_INVALID',
          `popular retrieves for a userId, an itemId or nobody in particular; got ${keys.join(', ')}`,
          { field: 'source' },
        );
      const r = await model.popular(subject as { userId: string }, limit, filter);
      return { items: r.items, scores: r.scores, stats: { mode: r.mode, excluded: r.excluded } };
    },
  };
}

/** Dense MF retrieval as a candidate source: ServingModel.denseCandidates (HNSW, or an exact scan). */
import { SimrecError } from '../../core/errors.ts';
import type {
  CandidateFilter,
  CandidateList,
  CandidateSource,
  CandidateSubject,
} from '../candidate-source.ts';
import type { DenseSource } from '../dense-model.ts';
import type { ServingModel } from '../serving-model.ts';

export function denseSource(model: ServingModel): CandidateSource | null {
  if (!model.hasDense) return null;
  return {
    name: 'dense',
    async retrieve(
      subject: CandidateSubject,
      limit: number,
      filter: CandidateFilter = {},
    ): Promise<CandidateList> {
      if ('producerId' in subject || 'topic' in subject || 'embedding' in subject)
        throw new SimrecError(
          'CONFIG_INVALID',
          'dense retrieves for a userId, items, an itemId or a vector',
          {
            field: 'source',
          },
        );
      // Item ages are a SimClusters index property; the dense indexes hold none, so the window does not apply.
      const r = await model.denseCandidates(
        subject as DenseSource,
        { limit },
        {
          exclude: filter.exclude,
          allow: filter.allow,
        },
      );
      return {
        items: r.items,
        scores: r.scores,
        stats: { ...r.stats, sourceEmbedding: r.sourceEmbedding },
      };
    },
  };
}

/**
 * What the event log holds (DESIGN §9, §10; issue 15): user events sent to `POST /v1/events` and the catalogue
 * changes of `POST /v1/items` / `DELETE /v1/items/:id`. One durable log of these records is the source of truth
 * for everything after an artifact version; every serving process applies it, in offset order, to its own
 * overlay, so all of them answer alike. The record shape lives here, below every folder that writes, stores or
 * applies it (data/ validates, store/ keeps, query/ applies, serve/ receives, pipeline/ absorbs).
 */

/** User actions every deployment accepts. A build config may declare further engagement actions. */
export const USER_ACTIONS = [
  'fav',
  'unfav',
  'click',
  'impression',
  'hide',
  'follow',
  'unfollow',
  'topic_follow',
] as const;
export type UserAction = (typeof USER_ACTIONS)[number];

/** Catalogue changes; written by the items routes, never accepted in an events batch. */
export const ITEM_ACTIONS = ['item_upsert', 'item_delete'] as const;
export type ItemAction = (typeof ITEM_ACTIONS)[number];

/** Which target field each built-in user action needs. */
export const ACTION_TARGET: Readonly<Record<UserAction, 'itemId' | 'producerId' | 'topic'>> = {
  fav: 'itemId',
  unfav: 'itemId',
  click: 'itemId',
  impression: 'itemId',
  hide: 'itemId',
  follow: 'producerId',
  unfollow: 'producerId',
  topic_follow: 'topic',
};

/** A user event as accepted (validated, defaults filled: `ts` the receive time when absent, `weight` 1). */
export interface UserEvent {
  eventId?: string;
  userId: string;
  /** A UserAction or an engagement action declared by the build config. */
  action: string;
  itemId?: string;
  producerId?: string;
  topic?: string;
  /** Unix seconds. */
  ts: number;
  weight: number;
}

/** A catalogue change: an item upserted (new ids grow the id space over the version's) or deleted. */
export interface ItemEvent {
  eventId?: string;
  action: ItemAction;
  itemId: string;
  authorId?: string;
  /** Unix seconds. */
  createdTs?: number;
  tags?: string[];
  /** When the change was received (Unix seconds). */
  ts: number;
}

export type LogRecord = UserEvent | ItemEvent;

/** A record as read back from the log, with its offset (0, 1, 2, … in append order; never reused). */
export type LoggedRecord = LogRecord & { offset: number };

export function isItemEvent(r: LogRecord): r is ItemEvent {
  return r.action === 'item_upsert' || r.action === 'item_delete';
}

/**
 * What a user action is to the item embeddings and the build: `fav` and the build config's declared engagement
 * actions are engagements (they add the user's InterestedIn to the item, DESIGN §3.5), `unfav` undoes them;
 * clicks, impressions and hides are signals the live counters and filters use, not engagements, so a feed that
 * logs every impression does not turn views into interest.
 */
export function engagementKind(
  action: string,
  engagementActions: readonly string[] = [],
): 'positive' | 'unfav' | null {
  if (action === 'fav') return 'positive';
  if (action === 'unfav') return 'unfav';
  return engagementActions.includes(action) ? 'positive' : null;
}

import { AppError, ErrorCode } from '../common/errors';

/**
 * The refusal (409 CONFLICT) of a change that would give a group room more than `max`
 * members (ROOM_MEMBERS_MAX), or undefined when it fits. `has`: its members now (0 for a
 * room being created); `adding`: the users the change makes members (not those already in
 * it, so re-adding members is never refused, even in a room over a lowered cap).
 */
export function roomMembersRefusal(has: number, adding: number, max: number, field: string): AppError | undefined {
  const total = has + adding;
  if (adding === 0 || total <= max) return undefined;
  const fit = Math.max(0, max - has);
  const message =
    has === 0
      ? `A room may have at most ${max} members, and this one would have ${total}`
      : `The room has ${has} members, the most a room may have is ${max}: ` +
        (fit ? `${fit} more fit, not ${adding}` : 'no more fit');
  return new AppError(ErrorCode.Conflict, message, [
    { field, errors: [`would make the room ${total} members, more than the ${max} a room may have`] },
  ]);
}

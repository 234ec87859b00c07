import { roomMembersRefusal } from './room-members-cap';

const body = (e: ReturnType<typeof roomMembersRefusal>) => e?.getResponse();

describe('roomMembersRefusal (ROOM_MEMBERS_MAX)', () => {
  it('lets a change up to the cap through, and refuses one member more', () => {
    expect(roomMembersRefusal(3, 2, 5, 'userIds')).toBeUndefined();
    expect(roomMembersRefusal(0, 5, 5, 'memberIds')).toBeUndefined();
    expect(body(roomMembersRefusal(3, 3, 5, 'userIds'))).toEqual({
      statusCode: 409,
      code: 'CONFLICT',
      message: 'The room has 3 members, the most a room may have is 5: 2 more fit, not 3',
      details: [{ field: 'userIds', errors: ['would make the room 6 members, more than the 5 a room may have'] }],
    });
  });

  it('says a full room has no room left', () => {
    expect(body(roomMembersRefusal(5, 1, 5, 'userIds'))).toMatchObject({
      message: 'The room has 5 members, the most a room may have is 5: no more fit',
    });
  });

  it('words a room being created by the members it would have', () => {
    expect(body(roomMembersRefusal(0, 6, 5, 'memberIds'))).toEqual({
      statusCode: 409,
      code: 'CONFLICT',
      message: 'A room may have at most 5 members, and this one would have 6',
      details: [{ field: 'memberIds', errors: ['would make the room 6 members, more than the 5 a room may have'] }],
    });
  });

  it('never refuses re-adding members only, even in a room over a lowered cap', () => {
    expect(roomMembersRefusal(8, 0, 5, 'userIds')).toBeUndefined();
    expect(body(roomMembersRefusal(8, 1, 5, 'userIds'))).toMatchObject({
      message: 'The room has 8 members, the most a room may have is 5: no more fit',
    });
  });
});

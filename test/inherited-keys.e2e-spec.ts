import { resetState, startApp, TestApp } from './utils/app';
import { closeAllSockets, connect, emitAck } from './utils/sockets';
import { auth, createRoom, createUser, TestUser } from './utils/users';

/**
 * Names every object inherits (`toString`, `hasOwnProperty`, ...) are unknown fields like any
 * other: class-validator's whitelist took them for known ones, so they were accepted.
 */
const INHERITED = ['hasOwnProperty', 'toString', 'valueOf', 'toLocaleString', 'isPrototypeOf', '__defineGetter__'];

const refusal = (field: string) => ({
  code: 'VALIDATION_FAILED',
  details: [expect.objectContaining({ field })],
});

describe('keys named after inherited members (e2e)', () => {
  let t: TestApp;
  let alice: TestUser;
  let room: number;

  beforeAll(async () => {
    await resetState();
    t = await startApp({ SOCKET_EVENT_BURST: '200' });
    alice = await createUser(t, 'inherit');
    room = await createRoom(t, alice);
  });
  afterAll(async () => {
    closeAllSockets();
    await t.close();
  });

  it.each(INHERITED)('a REST body with %s is VALIDATION_FAILED naming it', async (key) => {
    const res = await t
      .http()
      .post('/chatrooms')
      .set(auth(alice))
      .send({ name: 'z', [key]: 1 });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject(refusal(key));
  });

  it.each(INHERITED)('a query with %s is VALIDATION_FAILED naming it', async (key) => {
    const res = await t.http().get(`/chatrooms/${room}/messages?${key}=1`).set(auth(alice));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject(refusal(key));
  });

  it('a socket payload with one, at the top or inside, is VALIDATION_FAILED naming it', async () => {
    const s = await connect(t.url, alice.token);
    const message = { type: 'text', content: 'hi' };
    for (const key of INHERITED) {
      const top = await emitAck(s, 'sendMessage', { chatroomId: room, message, [key]: 1 });
      expect(top).toEqual({ ok: false, error: expect.objectContaining(refusal(key)) });
      const inside = await emitAck(s, 'sendMessage', { chatroomId: room, message: { ...message, [key]: 'x' } });
      expect(inside).toEqual({ ok: false, error: expect.objectContaining(refusal(`message.${key}`)) });
      const join = await emitAck(s, 'joinRoom', { chatroomId: room, [key]: 1 });
      expect(join).toEqual({ ok: false, error: expect.objectContaining(refusal(key)) });
    }
    // Nothing was sent: the room is still empty, and a clean payload still goes through.
    const history = await t.http().get(`/chatrooms/${room}/messages`).set(auth(alice));
    expect(history.body.items).toEqual([]);
    expect((await emitAck(s, 'sendMessage', { chatroomId: room, message })).ok).toBe(true);
  });
});

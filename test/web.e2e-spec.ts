import { Broadcaster } from '../src/chat/broadcaster.service';
import { ServerEvent, TimelineEvent } from '../src/common/constants';
import { resetState, sql, startApp, TestApp } from './utils/app';
import {
  assertBrowserPrerequisites,
  BrowserContext,
  launchBrowsers,
  Page,
  screenshot,
  TestBrowser,
  ui,
  until,
} from './utils/browser';
import { closeAllSockets, connect, emitAck } from './utils/sockets';
import { auth } from './utils/users';

/**
 * The web client served at `/`, driven through Debian's Chromium by two users in two browser
 * profiles, against the real app. Every wait is on DOM state (no sleeps); timeouts are
 * generous because the machine is shared.
 */
jest.setTimeout(180_000);

const PASSWORD = 'correct horse battery';

describe('web client (browser e2e)', () => {
  let t: TestApp;
  let browsers: TestBrowser;
  let alice: { page: Page; context: BrowserContext; id: number; token: string };
  let bob: { page: Page; context: BrowserContext; id: number; token: string };
  let room1: number;
  let room2: number;

  beforeAll(async () => {
    assertBrowserPrerequisites();
    await resetState();
    t = await startApp({ SEND_BURST: '500', SEND_RATE_PER_SEC: '500' });
    browsers = launchBrowsers();
  });
  afterAll(async () => {
    closeAllSockets();
    await browsers?.close();
    await t?.close();
  });

  /** Texts of the timeline in screen order, pending entries included. */
  const texts = (page: Page) => page.locator('.timeline .msg .text').allTextContents();
  const roomLink = (page: Page, id: number) => page.locator(`.rooms a[data-room-id="${id}"]`);
  const badge = (page: Page, id: number) => roomLink(page, id).locator('.badge');

  async function register(username: string) {
    const { page, context } = await browsers.newUser();
    await page.goto(t.url + '/');
    await page.getByRole('button', { name: 'New here? Create an account' }).click();
    await page.getByLabel('Username').fill(username);
    await page.getByLabel(/^Password/).fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    const idText = await page.locator('[data-my-id]').getAttribute('data-my-id');
    const token = await page.evaluate(
      () => JSON.parse((globalThis as any).localStorage.getItem('chat.session')).token as string,
    );
    return { page, context, id: Number(idText), token };
  }

  /** Creates a group room through the form; resolves with its id once the app shows it. */
  async function createGroup(page: Page, name: string, memberIds: number[]): Promise<number> {
    const before = page.url();
    await page.getByText('New group').click();
    await page.getByLabel('Room name').fill(name);
    await page.getByLabel('Member user ids (optional)').fill(memberIds.join(', '));
    await page.getByRole('button', { name: 'Create group' }).click();
    await page.waitForURL((u) => /#\/rooms\/\d+$/.test(u.href) && u.href !== before);
    await ui(page.locator('#room-title')).toHaveText(name);
    return Number(/rooms\/(\d+)/.exec(page.url())![1]);
  }

  async function send(page: Page, text: string) {
    await page.getByLabel('Message', { exact: true }).fill(text);
    await page.getByLabel('Message', { exact: true }).press('Enter');
  }

  it('serves the client at / and leaves API routes, /docs, /health and /socket.io alone', async () => {
    const page = await t.http().get('/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    // No inline script or style, so a strict CSP (script-src 'self') can serve it.
    expect(page.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(page.text).not.toMatch(/<style|style=/);
    const js = /src="(\/assets\/[^"]+\.js)"/.exec(page.text)![1];
    const asset = await t.http().get(js);
    expect(asset.status).toBe(200);
    expect(asset.headers['cache-control']).toContain('immutable');
    expect((await t.http().get('/health')).body.status).toBe('ok');
    expect((await t.http().get('/docs-json')).body.openapi).toBeDefined();
    const api = await t.http().get('/chatrooms').set('Accept', 'text/html');
    expect([api.status, api.body.code]).toEqual([401, 'UNAUTHORIZED']);
    const unknown = await t.http().get('/no/such/page').set('Accept', 'text/html');
    expect(unknown.status).toBe(404);
    expect(unknown.text).not.toContain('<div id="app">');
    const polling = await t.http().get('/socket.io/?EIO=4&transport=polling');
    expect(polling.text).not.toContain('<div id="app">');
  });

  it('registers two users through the UI and keeps each session in the browser', async () => {
    [alice, bob] = await Promise.all([register('alice'), register('bob')]);
    expect(alice.id).toBeGreaterThan(0);
    expect(bob.id).not.toBe(alice.id);
    await ui(alice.page.getByText('Signed in as alice')).toBeVisible();
  });

  it('creates a group room and chats live both ways, with sent → seen receipts', async () => {
    room1 = await createGroup(alice.page, 'general', [bob.id]);

    await send(alice.page, 'hello bob');
    // Bob was told nothing about the room until its first message: it appears, with a badge.
    await ui(badge(bob.page, room1)).toHaveText('1');
    await ui(roomLink(bob.page, room1)).toContainText('hello bob');
    await roomLink(bob.page, room1).click();
    await ui(bob.page.locator('.timeline')).toContainText('hello bob');
    await ui(badge(bob.page, room1)).toHaveCount(0);
    // Alice's message turns from sent to seen once Bob has read it.
    await ui(alice.page.locator('.msg.mine .state').last()).toHaveText('Seen by 1');

    await send(bob.page, 'hi alice');
    await ui(alice.page.locator('.timeline')).toContainText('hi alice');
    expect(await texts(bob.page)).toEqual(['hello bob', 'hi alice']);
  });

  it('shows typing, then an unread badge in the other room that clears when opened', async () => {
    room2 = await createGroup(alice.page, 'random', [bob.id]);
    expect(room2).not.toBe(room1);
    await send(alice.page, 'second room, first message');
    await ui(badge(bob.page, room2)).toHaveText('1');
    await send(alice.page, 'second room, second message');
    await ui(badge(bob.page, room2)).toHaveText('2');
    // Bob is still looking at room 1: no badge there.
    await ui(badge(bob.page, room1)).toHaveCount(0);

    await roomLink(bob.page, room2).click();
    await ui(bob.page.locator('.timeline')).toContainText('second room, second message');
    await ui(badge(bob.page, room2)).toHaveCount(0);
    await bob.page.getByLabel('Message', { exact: true }).pressSequentially('typing');
    await ui(alice.page.locator('.typing')).toHaveText('bob is typing…');
    await bob.page.getByLabel('Message', { exact: true }).press('Enter');
    await ui(alice.page.locator('.typing')).toHaveText('');
    // An https image link is sent as an image and shown as one.
    await send(alice.page, 'https://example.com/cat.png');
    await ui(bob.page.locator('.timeline img[src="https://example.com/cat.png"]')).toHaveCount(1);
    // The read goes out after the render, so wait for the server's receipt to reach Alice.
    await ui(alice.page.locator('.msg.mine .state').last()).toHaveText('Seen by 1');
    // A reload elsewhere agrees: the server holds the read position, not just this tab.
    const inbox = await t
      .http()
      .get('/inbox')
      .set(auth({ id: bob.id, username: 'bob', token: bob.token }));
    expect(inbox.body.totalUnread).toBe(0);
  });

  it('an offline user comes back to every missed message exactly once, in order', async () => {
    await roomLink(bob.page, room1).click();
    await ui(bob.page.locator('.timeline')).toContainText('hi alice');
    await roomLink(alice.page, room1).click();
    await ui(alice.page.locator('.timeline')).toContainText('hi alice');

    await bob.context.setOffline(true);
    await ui(bob.page.locator('.sidebar [role=status]')).toHaveText('connecting…');
    const missed = Array.from({ length: 6 }, (_, i) => `while you were away ${i + 1}`);
    for (const m of missed) await send(alice.page, m);
    await ui(alice.page.locator('.msg.mine[data-state]').last()).toContainText(missed[5]);
    // Bob writes while offline: pending until the connection is back, then sent once.
    await send(bob.page, 'written offline');
    await ui(bob.page.locator('.msg[data-state="pending"]')).toContainText('written offline');

    await bob.context.setOffline(false);
    await ui(bob.page.locator('.timeline')).toContainText(missed[5]);
    await ui(bob.page.locator('.msg[data-state="pending"]')).toHaveCount(0);
    await ui(alice.page.locator('.timeline')).toContainText('written offline');
    const expected = ['hello bob', 'hi alice', ...missed, 'written offline'];
    expect(await texts(bob.page)).toEqual(expected);
    expect(await texts(alice.page)).toEqual(expected);
    const seqs = await bob.page
      .locator('.timeline .msg[data-seq]')
      .evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-seq'))));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    await screenshot(alice.page, 'desktop-alice');
    await screenshot(bob.page, 'desktop-bob');
  });

  it('a reload keeps the session and the history', async () => {
    await bob.page.reload();
    await ui(bob.page.getByText('Signed in as bob')).toBeVisible();
    await ui(bob.page.locator('.timeline')).toContainText('written offline');
    expect(await texts(bob.page)).toEqual([
      'hello bob',
      'hi alice',
      ...Array.from({ length: 6 }, (_, i) => `while you were away ${i + 1}`),
      'written offline',
    ]);
  });

  it('edits and retracts my own messages, live for the other user', async () => {
    alice.page.on('dialog', (d) => void d.accept());
    const mine = (text: string) => alice.page.locator('.msg.mine', { hasText: text });
    await mine('while you were away 1')
      .getByRole('button', { name: /^Edit message/ })
      .click();
    await alice.page.getByLabel('Edit message', { exact: true }).fill('while you were away, edited');
    await alice.page.getByRole('button', { name: 'Save' }).click();
    const bobsCopy = bob.page.locator('.msg', { hasText: 'while you were away, edited' });
    await ui(bobsCopy).toContainText('edited');
    await mine('while you were away 2')
      .getByRole('button', { name: /^Delete message/ })
      .click();
    await ui(bob.page.locator('.msg .deleted')).toHaveCount(1);
    await ui(bob.page.locator('.timeline .msg', { hasText: 'while you were away 2' })).toHaveCount(0);
  });

  it('keeps a retracted message retracted when an edit of it is announced after the retraction', async () => {
    // An edit that won its write just before the retraction, announced late (another instance).
    const history = await t
      .http()
      .get(`/chatrooms/${room1}/messages?limit=50`)
      .set(auth({ id: alice.id, username: 'alice', token: alice.token }));
    const retracted = (history.body.items as { deleted: boolean; seq: number }[]).find((m) => m.deleted);
    expect(retracted).toBeDefined();
    t.app.get(Broadcaster).toRoom(room1, ServerEvent.Message, {
      type: TimelineEvent.EditMessage,
      chatroomId: room1,
      userId: alice.id,
      message: { ...retracted, content: 'a late edit', deleted: false, editedAt: new Date().toISOString() },
    });
    // Then a live message, so the late edit has certainly been handled when it shows.
    await send(alice.page, 'after the late edit');
    await ui(bob.page.locator('.timeline')).toContainText('after the late edit');
    await ui(bob.page.locator(`.msg[data-seq="${retracted!.seq}"] .deleted`)).toHaveCount(1);
    expect(await texts(bob.page)).not.toContain('a late edit');
  });

  it('opens a direct room by user id, named after the other person, with their presence', async () => {
    await bob.page.getByText('Direct message').click();
    await bob.page.getByLabel('User id', { exact: true }).fill(String(alice.id));
    await bob.page.getByRole('button', { name: 'Open direct room' }).click();
    await ui(bob.page.locator('#room-title')).toHaveText('alice');
    await ui(bob.page.locator('.room header .dot.online')).toHaveCount(1);
    const direct = Number(/rooms\/(\d+)/.exec(bob.page.url())![1]);
    await send(bob.page, 'just us');
    await ui(roomLink(alice.page, direct)).toContainText('just us');
    await ui(roomLink(alice.page, direct).locator('.name')).toContainText('bob');
    await ui(roomLink(alice.page, direct).locator('.dot.online')).toHaveCount(1);
  });

  it('loads older history as the user scrolls up, each message once', async () => {
    const s = await connect(t.url, alice.token);
    const room = (
      await t
        .http()
        .post('/chatrooms')
        .set(auth({ id: alice.id, username: 'alice', token: alice.token }))
        .send({ name: 'long', memberIds: [bob.id] })
    ).body.id as number;
    for (let i = 1; i <= 100; i++) {
      const ack = await emitAck(s, 'sendMessage', { chatroomId: room, message: { type: 'text', content: `old ${i}` } });
      expect(ack.ok).toBe(true);
    }
    s.disconnect();
    await ui(roomLink(bob.page, room)).toBeVisible();
    await roomLink(bob.page, room).click();
    await ui(bob.page.locator('.timeline')).toContainText('old 100');
    const timeline = bob.page.locator('.timeline');
    for (let i = 0; i < 10 && !(await timeline.getByText('Start of the conversation').count()); i++) {
      const before = await bob.page.locator('.timeline .msg').count();
      await timeline.evaluate((el) => (el.scrollTop = 0));
      await until(async () => (await bob.page.locator('.timeline .msg').count()) > before, 'an older page is shown');
    }
    await ui(timeline.getByText('Start of the conversation')).toBeVisible();
    expect(await texts(bob.page)).toEqual(Array.from({ length: 100 }, (_, i) => `old ${i + 1}`));
  });

  it('is usable on a phone-sized screen: list, then room, then back', async () => {
    const page = bob.page;
    await page.setViewportSize({ width: 390, height: 780 });
    await page.goto(t.url + '/#/');
    await ui(page.locator('.sidebar')).toBeVisible();
    await ui(page.locator('main.main')).toBeHidden();
    await screenshot(page, 'phone-list');
    await roomLink(page, room1).click();
    await ui(page.locator('.timeline')).toContainText('written offline');
    await ui(page.locator('.sidebar')).toBeHidden();
    await send(page, 'from my phone');
    await ui(alice.page.locator('.timeline')).toContainText('from my phone');
    await screenshot(page, 'phone-room');
    await page.getByRole('link', { name: 'Back to rooms' }).click();
    await ui(page.locator('.sidebar')).toBeVisible();
    await ui(roomLink(page, room1)).toContainText('from my phone');
  });
  it('lets an admin search messages and moderate one', async () => {
    await sql("UPDATE users SET role = 'admin' WHERE id = $1", [alice.id]);
    await alice.page.reload();
    await alice.page.getByRole('link', { name: 'Admin' }).click();
    await alice.page.getByLabel('Text', { exact: true }).fill('second');
    await alice.page.getByRole('button', { name: 'Search' }).click();
    const rows = alice.page.locator('.admin tbody tr[data-id]');
    await ui(rows).toHaveCount(2);
    const target = rows.filter({ hasText: 'second room, first message' });
    const id = await target.getAttribute('data-id');
    await target.getByRole('button', { name: 'Delete' }).click();
    await ui(rows).toHaveCount(1);
    const history = await t
      .http()
      .get(`/chatrooms/${room2}/messages`)
      .set(auth({ id: bob.id, username: 'bob', token: bob.token }));
    expect(history.body.items.find((m: any) => m.id === id)).toMatchObject({ deleted: true, content: '' });
    await screenshot(alice.page, 'desktop-admin');
  });
});

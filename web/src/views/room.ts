import type { Chat } from '../chat';
import { h, looksLikeImageUrl, mount } from '../h';
import type { MessageType } from '@chat-backend/client';
import { type Item, itemKey, itemSignature, messageView } from './message';
import { parseIds } from './sidebar';

const NEAR_BOTTOM_PX = 80;
const TYPING_IDLE_MS = 3000;

/**
 * Puts `nodes` into `parent` in order, moving only what changed: unchanged entries stay in
 * place, so screen readers announce only new ones and a long timeline does not churn.
 */
function reconcile(parent: HTMLElement, nodes: HTMLElement[]): void {
  nodes.forEach((node, i) => {
    if (parent.children[i] !== node) parent.insertBefore(node, parent.children[i] ?? null);
  });
  while (parent.children.length > nodes.length) parent.lastElementChild!.remove();
}

/** One room: timeline (older pages on scroll up), typing line, composer, members panel. */
export function roomView(el: HTMLElement, chat: Chat, roomId: number): () => void {
  const { store } = chat;
  const t = store.timeline(roomId);
  const title = h('h2', { id: 'room-title' });
  const presence = h('span', { class: 'dot hidden' });
  const timeline = h('ol', { class: 'timeline', role: 'log', 'aria-labelledby': 'room-title', tabIndex: 0 });
  const more = h('li', { class: 'more' });
  const typingLine = h('div', { class: 'typing', 'aria-live': 'polite' });
  const membersPanel = h('aside', { class: 'members', 'aria-label': 'Members' });
  const drawn = new Map<string, { el: HTMLElement; sig: string }>();
  let editing: string | null = null;
  let loadingOlder = false;

  const actions = {
    get editing() {
      return editing;
    },
    startEdit(key: string) {
      editing = key;
      render();
    },
    stopEdit() {
      editing = null;
      render();
    },
  };

  const items = (): Item[] => [
    ...[...t.bySeq.values()].sort((a, b) => a.seq - b.seq).map((m) => ({ kind: 'sent' as const, m })),
    ...[...t.pending.values()].map((p) => ({ kind: 'pending' as const, p })),
  ];

  const nearBottom = () => timeline.scrollHeight - timeline.scrollTop - timeline.clientHeight < NEAR_BOTTOM_PX;

  const markRead = () => {
    if (document.visibilityState !== 'visible' || !nearBottom()) return;
    const top = Math.max(0, ...t.bySeq.keys());
    if (top > 0) void chat.markRead(roomId, top);
  };

  const renderTimeline = () => {
    const stick = nearBottom();
    const fromBottom = timeline.scrollHeight - timeline.scrollTop;
    const firstBefore = timeline.children[1]?.getAttribute('data-seq');
    const list = items();
    const keep = new Set<string>();
    const nodes: HTMLElement[] = [more];
    for (const item of list) {
      const key = itemKey(item);
      keep.add(key);
      const sig = itemSignature(chat, roomId, item, editing);
      let d = drawn.get(key);
      if (!d || d.sig !== sig) drawn.set(key, (d = { el: messageView(chat, roomId, item, actions), sig }));
      nodes.push(d.el);
    }
    for (const key of drawn.keys()) if (!keep.has(key)) drawn.delete(key);
    more.textContent = !t.loaded
      ? 'Loading…'
      : t.hasMoreBefore
        ? loadingOlder
          ? 'Loading older messages…'
          : ''
        : 'Start of the conversation';
    if (!list.length && t.loaded) nodes.push(h('li', { class: 'empty' }, 'No messages yet. Say hello!'));
    reconcile(timeline, nodes);
    const prepended =
      firstBefore !== undefined && firstBefore !== null && nodes[1]?.getAttribute('data-seq') !== firstBefore;
    if (stick) timeline.scrollTop = timeline.scrollHeight;
    else if (prepended) timeline.scrollTop = timeline.scrollHeight - fromBottom;
    markRead();
  };

  const renderHeader = () => {
    const room = store.rooms.get(roomId);
    title.textContent = room ? store.roomTitle(room) : 'Room';
    const peer = room?.type === 'direct' ? store.directPeer(roomId) : undefined;
    presence.className = peer ? `dot${store.presence.get(peer.id) ? ' online' : ''}` : 'dot hidden';
    presence.title = peer && store.presence.get(peer.id) ? `${peer.username} is online` : 'offline';
    const names = [...(store.typing.get(roomId)?.keys() ?? [])].map((id) => store.userName(id));
    typingLine.textContent = names.length ? `${names.join(', ')} ${names.length > 1 ? 'are' : 'is'} typing…` : '';
  };

  const renderMembers = () => {
    const d = store.details.get(roomId);
    if (!d) return;
    const error = h('p', { class: 'error', role: 'alert' });
    const ids = h('input', { name: 'userIds', inputMode: 'numeric', required: true, placeholder: 'e.g. 4, 9' });
    const add = async (ev: Event) => {
      ev.preventDefault();
      try {
        await chat.api.addMembers(roomId, parseIds(ids.value));
        await chat.loadDetail(roomId);
      } catch (err) {
        error.textContent = (err as Error).message;
      }
    };
    mount(
      membersPanel,
      h('h3', null, `Members (${d.members.length})`),
      h(
        'ul',
        null,
        d.members.map((m) =>
          h(
            'li',
            { 'data-user-id': m.user.id },
            h('span', {
              class: `dot${store.presence.get(m.user.id) ? ' online' : ''}`,
              title: store.presence.get(m.user.id) ? 'online' : 'offline',
            }),
            h(
              'span',
              null,
              `${m.user.nickName || m.user.username} `,
              h('span', { class: 'muted' }, `#${m.user.id}${m.role === 'member' ? '' : ` · ${m.role}`}`),
            ),
          ),
        ),
      ),
      d.type === 'group'
        ? h(
            'form',
            { onsubmit: add },
            h('label', null, 'Add members (user ids)', ids),
            error,
            h('button', { type: 'submit' }, 'Add'),
          )
        : null,
    );
  };

  const render = () => {
    renderHeader();
    renderTimeline();
    renderMembers();
  };

  const loadOlder = async () => {
    if (loadingOlder || !t.hasMoreBefore || !t.loaded) return;
    loadingOlder = true;
    renderTimeline();
    try {
      await chat.loadOlder(roomId);
    } finally {
      loadingOlder = false;
      renderTimeline();
    }
    loadMoreIfAtTop();
  };
  // Scrolled to the top before a page arrived, or too few messages to scroll: keep loading.
  const loadMoreIfAtTop = () => {
    if (t.loaded && t.hasMoreBefore && timeline.scrollTop < NEAR_BOTTOM_PX) void loadOlder();
  };

  // Composer: Enter sends, Shift+Enter breaks the line; an https image URL is sent as an image.
  const input = h('textarea', { id: 'composer', rows: 1, maxLength: 4000, placeholder: 'Write a message' });
  const kind = h(
    'select',
    { 'aria-label': 'Message type' },
    h('option', { value: 'auto' }, 'Text'),
    h('option', { value: 'image' }, 'Image URL'),
  );
  let typingTimer = 0;
  let typingSent = false;
  const stopTyping = () => {
    clearTimeout(typingTimer);
    if (typingSent) chat.typing(roomId, false);
    typingSent = false;
  };
  const send = (ev?: Event) => {
    ev?.preventDefault();
    const content = input.value.trim();
    if (!content) return;
    const type: MessageType = kind.value === 'image' || looksLikeImageUrl(content) ? 'image' : 'text';
    chat.send(roomId, type, content);
    input.value = '';
    kind.value = 'auto';
    stopTyping();
    timeline.scrollTop = timeline.scrollHeight;
  };
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) send(ev);
  });
  input.addEventListener('input', () => {
    if (!typingSent && input.value) {
      chat.typing(roomId, true);
      typingSent = true;
    }
    clearTimeout(typingTimer);
    typingTimer = window.setTimeout(stopTyping, TYPING_IDLE_MS);
  });

  mount(
    el,
    h(
      'section',
      { class: 'room', 'aria-labelledby': 'room-title' },
      h(
        'header',
        null,
        h('a', { class: 'back', href: '#/', 'aria-label': 'Back to rooms' }, '←'),
        presence,
        title,
        h(
          'button',
          { type: 'button', onclick: () => membersPanel.classList.toggle('open'), 'aria-label': 'Show members' },
          'Members',
        ),
      ),
      h('div', { class: 'body' }, h('div', { class: 'tl-wrap' }, timeline, typingLine), membersPanel),
      h(
        'form',
        { class: 'composer', onsubmit: send },
        h('label', { class: 'sr-only', for: 'composer' }, 'Message'),
        input,
        kind,
        h('button', { class: 'primary', type: 'submit' }, 'Send'),
      ),
    ),
  );

  timeline.addEventListener('scroll', () => {
    if (timeline.scrollTop < NEAR_BOTTOM_PX) void loadOlder();
    markRead();
  });
  const onVisible = () => markRead();
  document.addEventListener('visibilitychange', onVisible);
  window.addEventListener('focus', onVisible);
  const offs = [store.on(`room:${roomId}`, render), store.on('rooms', renderHeader)];
  render();
  if (!t.loaded) void chat.loadOlder(roomId).then(loadMoreIfAtTop);
  if (!store.details.has(roomId)) void chat.loadDetail(roomId).catch(() => undefined);
  input.focus();
  return () => {
    stopTyping();
    offs.forEach((off) => off());
    document.removeEventListener('visibilitychange', onVisible);
    window.removeEventListener('focus', onVisible);
  };
}

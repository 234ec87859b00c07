import type { Chat } from '../chat';
import { fmtTime, h, mount } from '../h';
import type { Chatroom } from '@chat-backend/client';

/** Parses "3, 7 12" into user ids. */
export function parseIds(s: string): number[] {
  return s
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
}

function preview(chat: Chat, r: Chatroom): string {
  const m = r.lastMessage;
  if (!m) return 'No messages yet';
  const who = m.senderId === chat.store.me?.id ? 'You' : m.sender.nickName || m.sender.username;
  // A long last message comes cut (`truncated`); the room's history has it whole.
  const body = m.deleted ? 'message deleted' : m.type === 'image' ? 'Image' : m.truncated ? `${m.content}…` : m.content;
  return `${who}: ${body}`;
}

/** The room list (live unread badges, last message, presence) and the create-room forms. */
export function sidebarView(
  el: HTMLElement,
  chat: Chat,
  currentRoom: () => number | null,
  signOut: () => void,
): () => void {
  const { store } = chat;
  const list = h('ul', { class: 'rooms', 'aria-label': 'Rooms' });
  const status = h('span', { class: 'muted', role: 'status' });

  const renderList = () => {
    const current = currentRoom();
    const items = store.sortedRooms().map((r) => {
      const peer = r.type === 'direct' ? store.directPeer(r.id) : undefined;
      const online = peer ? store.presence.get(peer.id) : undefined;
      const unread = r.id === current ? 0 : r.unreadCount;
      return h(
        'li',
        null,
        h(
          'a',
          { href: `#/rooms/${r.id}`, 'data-room-id': r.id, 'aria-current': r.id === current ? 'page' : false },
          h(
            'span',
            { class: 'name' },
            peer ? h('span', { class: `dot${online ? ' online' : ''}`, title: online ? 'online' : 'offline' }) : null,
            store.roomTitle(r),
          ),
          h('span', { class: 'time' }, r.lastMessage ? fmtTime(r.lastMessage.createdAt) : ''),
          h('span', { class: 'last' }, preview(chat, r)),
          unread > 0 ? h('span', { class: 'badge', 'aria-label': `${unread} unread` }, unread) : null,
        ),
      );
    });
    mount(list, items.length ? items : h('li', { class: 'empty' }, 'No rooms yet. Create one below.'));
  };
  const renderStatus = () => {
    status.textContent = store.connected ? '' : 'connecting…';
  };

  const groupError = h('p', { class: 'error', role: 'alert' });
  const groupName = h('input', { name: 'name', required: true, maxLength: 100 });
  const groupMembers = h('input', { name: 'memberIds', inputMode: 'numeric', placeholder: 'e.g. 2, 5' });
  const createGroup = async (ev: Event) => {
    ev.preventDefault();
    groupError.textContent = '';
    try {
      const room = await chat.api.createRoom({
        name: groupName.value.trim(),
        memberIds: parseIds(groupMembers.value),
      });
      groupName.value = groupMembers.value = '';
      groupName.closest('details')?.removeAttribute('open');
      await chat.refreshRooms();
      location.hash = `#/rooms/${room.id}`;
    } catch (err) {
      groupError.textContent = (err as Error).message;
    }
  };
  const directError = h('p', { class: 'error', role: 'alert' });
  const directUser = h('input', { name: 'userId', required: true, inputMode: 'numeric', pattern: '[0-9]+' });
  const createDirect = async (ev: Event) => {
    ev.preventDefault();
    directError.textContent = '';
    try {
      const room = await chat.api.directRoom(Number(directUser.value));
      directUser.value = '';
      directUser.closest('details')?.removeAttribute('open');
      await chat.refreshRooms();
      location.hash = `#/rooms/${room.id}`;
    } catch (err) {
      directError.textContent = (err as Error).message;
    }
  };

  const me = store.me!;
  mount(
    el,
    h('header', null, h('h1', null, 'Chat'), status, me.role === 'admin' ? h('a', { href: '#/admin' }, 'Admin') : null),
    list,
    h(
      'details',
      { class: 'new' },
      h('summary', null, 'New group'),
      h(
        'form',
        { onsubmit: createGroup },
        h('label', null, 'Room name', groupName),
        h('label', null, 'Member user ids (optional)', groupMembers),
        groupError,
        h('button', { class: 'primary', type: 'submit' }, 'Create group'),
      ),
    ),
    h(
      'details',
      { class: 'new' },
      h('summary', null, 'Direct message'),
      h(
        'form',
        { onsubmit: createDirect },
        h('label', null, 'User id', directUser),
        directError,
        h('button', { class: 'primary', type: 'submit' }, 'Open direct room'),
      ),
    ),
    h(
      'div',
      { class: 'me' },
      h(
        'span',
        null,
        'Signed in as ',
        h('strong', null, me.username),
        ' ',
        h('span', { class: 'muted', 'data-my-id': me.id }, `(user id ${me.id})`),
      ),
      h('button', { type: 'button', onclick: signOut }, 'Sign out'),
    ),
  );
  renderList();
  renderStatus();
  const offs = [store.on('rooms', renderList), store.on('conn', renderStatus), store.on('route', renderList)];
  return () => offs.forEach((off) => off());
}

import type { Chat } from '../chat';
import { fmtTime, h, httpsUrl } from '../h';
import type { PendingMessage } from '../store';
import type { Message } from '@chat-backend/client';

export type Item = { kind: 'sent'; m: Message } | { kind: 'pending'; p: PendingMessage };

export function itemKey(i: Item): string {
  return i.kind === 'sent' ? `s:${i.m.seq}` : `c:${i.p.clientMsgId}`;
}

function body(type: string, content: string, deleted?: boolean): HTMLElement {
  if (deleted) return h('div', { class: 'deleted' }, 'This message was deleted');
  const url = type === 'image' ? httpsUrl(content) : null;
  if (url)
    return h('div', null, h('img', { src: url, alt: 'shared image', loading: 'lazy', referrerPolicy: 'no-referrer' }));
  return h('div', { class: 'text' }, content);
}

/** "Seen by N": other members whose read position reached this message. */
export function seenBy(chat: Chat, roomId: number, seq: number): number {
  const d = chat.store.details.get(roomId);
  return d ? d.members.filter((x) => x.user.id !== chat.store.me?.id && x.readSeq >= seq).length : 0;
}

export interface MessageActions {
  editing: string | null;
  startEdit(key: string): void;
  stopEdit(): void;
}

/** One timeline entry: sender, body, time, state (pending → sent → seen), own-message actions. */
export function messageView(chat: Chat, roomId: number, item: Item, actions: MessageActions): HTMLElement {
  const me = chat.store.me!;
  if (item.kind === 'pending') {
    const p = item.p;
    return h(
      'li',
      { class: 'msg mine', 'data-client-id': p.clientMsgId, 'data-state': p.state },
      body(p.type, p.content),
      h(
        'footer',
        null,
        h(
          'span',
          { class: 'state', 'data-state': p.state },
          p.state === 'pending' ? 'sending…' : `not sent: ${p.error ?? ''}`,
        ),
        p.state === 'failed'
          ? h('button', { class: 'link', type: 'button', onclick: () => chat.retry(p.clientMsgId) }, 'Retry')
          : null,
      ),
    );
  }
  const m = item.m;
  const mine = m.senderId === me.id;
  const key = itemKey(item);
  const seen = mine && !m.deleted ? seenBy(chat, roomId, m.seq) : 0;
  const state = !mine ? null : seen > 0 ? 'seen' : 'sent';
  let content: HTMLElement = body(m.type, m.content, m.deleted);
  if (actions.editing === key) {
    const input = h('input', { value: m.content, 'aria-label': 'Edit message', required: true });
    content = h(
      'form',
      {
        onsubmit: async (ev: Event) => {
          ev.preventDefault();
          try {
            await chat.api.edit(m.id, input.value);
            actions.stopEdit();
          } catch (err) {
            alert((err as Error).message);
          }
        },
      },
      input,
      h('button', { type: 'submit', class: 'primary' }, 'Save'),
      h('button', { type: 'button', onclick: () => actions.stopEdit() }, 'Cancel'),
    );
    queueMicrotask(() => input.focus());
  }
  return h(
    'li',
    { class: `msg${mine ? ' mine' : ''}`, 'data-seq': m.seq, 'data-id': m.id, 'data-state': state ?? false },
    mine ? null : h('div', { class: 'who' }, m.sender.nickName || m.sender.username),
    content,
    h(
      'footer',
      null,
      h('time', { dateTime: m.createdAt }, fmtTime(m.createdAt)),
      m.editedAt && !m.deleted ? h('span', null, 'edited') : null,
      state ? h('span', { class: 'state', 'data-state': state }, state === 'seen' ? `Seen by ${seen}` : 'Sent') : null,
      mine && !m.deleted && m.type !== 'file'
        ? h(
            'span',
            { class: 'actions' },
            m.type === 'text'
              ? h(
                  'button',
                  {
                    class: 'link',
                    type: 'button',
                    onclick: () => actions.startEdit(key),
                    'aria-label': `Edit message ${m.seq}`,
                  },
                  'Edit',
                )
              : null,
            h(
              'button',
              {
                class: 'link danger',
                type: 'button',
                'aria-label': `Delete message ${m.seq}`,
                onclick: async () => {
                  if (!confirm('Delete this message for everyone?')) return;
                  await chat.api.retract(m.id).catch((err: Error) => alert(err.message));
                },
              },
              'Delete',
            ),
          )
        : null,
    ),
  );
}

/** What decides whether an entry must be drawn again. */
export function itemSignature(chat: Chat, roomId: number, item: Item, editing: string | null): string {
  if (item.kind === 'pending') return `${item.p.state}|${item.p.error ?? ''}`;
  const m = item.m;
  const seen = m.senderId === chat.store.me?.id ? seenBy(chat, roomId, m.seq) : 0;
  return `${m.content}|${m.editedAt ?? ''}|${m.deleted ? 1 : 0}|${seen}|${editing === itemKey(item) ? 1 : 0}`;
}

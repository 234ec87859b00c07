import type { Chat } from '../chat';
import { fmtTime, h, mount } from '../h';
import type { AdminMessageQuery, Message, MessageType } from '@chat-backend/client';

/** Admins: search every message with filters, moderate (tombstone) one or several. */
export function adminView(el: HTMLElement, chat: Chat): () => void {
  const field = (name: string, label: string, attrs: Record<string, unknown> = {}) => {
    const input = h('input', { name, ...attrs });
    return { input, label: h('label', null, label, input) };
  };
  const q = field('q', 'Text');
  const room = field('chatroomId', 'Room id', { inputMode: 'numeric', pattern: '[0-9]*' });
  const sender = field('senderId', 'Sender id', { inputMode: 'numeric', pattern: '[0-9]*' });
  const from = field('from', 'From', { type: 'datetime-local' });
  const to = field('to', 'To', { type: 'datetime-local' });
  const type = h(
    'select',
    { name: 'type' },
    ['', 'text', 'image', 'file'].map((v) => h('option', { value: v }, v || 'any')),
  );
  const includeDeleted = h('input', { type: 'checkbox', name: 'includeDeleted' });
  const error = h('p', { class: 'error', role: 'alert' });
  const tbody = h('tbody');
  const moreBtn = h('button', { type: 'button', class: 'hidden' }, 'Load more');
  const deleteSelected = h('button', { type: 'button', class: 'danger' }, 'Delete selected');
  const selected = new Set<string>();
  let cursor: string | undefined;

  const query = (): AdminMessageQuery => {
    const num = (v: string) => (v.trim() ? Number(v.trim()) : undefined);
    return {
      limit: 50,
      q: q.input.value.trim() || undefined,
      chatroomId: num(room.input.value),
      senderId: num(sender.input.value),
      type: (type.value || undefined) as MessageType | undefined,
      from: from.input.value ? new Date(from.input.value).toISOString() : undefined,
      to: to.input.value ? new Date(to.input.value).toISOString() : undefined,
      includeDeleted: includeDeleted.checked || undefined,
      cursor,
    };
  };

  const row = (m: Message) => {
    const box = h('input', {
      type: 'checkbox',
      'aria-label': `Select message ${m.id}`,
      disabled: m.deleted,
      onchange: (ev: Event) => ((ev.target as HTMLInputElement).checked ? selected.add(m.id) : selected.delete(m.id)),
    });
    return h(
      'tr',
      { 'data-id': m.id },
      h('td', null, box),
      h('td', null, fmtTime(m.createdAt)),
      h('td', null, `#${m.chatroomId}`),
      h('td', null, `${m.sender?.username ?? ''} #${m.senderId}`),
      h('td', null, m.type),
      h('td', { class: 'content' }, m.deleted ? h('em', null, 'deleted') : m.content),
      h(
        'td',
        null,
        m.deleted
          ? null
          : h('button', { type: 'button', class: 'link danger', onclick: () => void moderate([m.id]) }, 'Delete'),
      ),
    );
  };

  const search = async (append: boolean) => {
    error.textContent = '';
    if (!append) {
      cursor = undefined;
      selected.clear();
    }
    try {
      const page = await chat.api.adminMessages(query());
      if (!append) tbody.replaceChildren();
      tbody.append(...page.items.map(row));
      if (!tbody.children.length)
        tbody.append(h('tr', null, h('td', { colSpan: 7, class: 'muted' }, 'No messages match.')));
      cursor = page.nextCursor;
      moreBtn.classList.toggle('hidden', !page.hasMore);
    } catch (err) {
      error.textContent = (err as Error).message;
    }
  };

  const moderate = async (ids: string[]) => {
    if (!ids.length || !confirm(`Delete ${ids.length} message(s) for everyone?`)) return;
    try {
      if (ids.length === 1) await chat.api.moderate(ids[0]);
      else await chat.api.moderateMany(ids);
      await search(false);
    } catch (err) {
      error.textContent = (err as Error).message;
    }
  };
  moreBtn.onclick = () => void search(true);
  deleteSelected.onclick = () => void moderate([...selected]);

  mount(
    el,
    h(
      'section',
      { class: 'admin', 'aria-labelledby': 'admin-title' },
      h(
        'header',
        null,
        h('a', { class: 'back', href: '#/', 'aria-label': 'Back to rooms' }, '←'),
        h('h2', { id: 'admin-title' }, 'Moderation'),
        deleteSelected,
      ),
      h(
        'form',
        {
          class: 'filters',
          onsubmit: (ev: Event) => {
            ev.preventDefault();
            void search(false);
          },
        },
        q.label,
        room.label,
        sender.label,
        h('label', null, 'Type', type),
        from.label,
        to.label,
        h('label', null, 'Include deleted', includeDeleted),
        h('button', { type: 'submit', class: 'primary' }, 'Search'),
      ),
      error,
      h(
        'div',
        { class: 'results' },
        h(
          'table',
          null,
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              ['', 'When', 'Room', 'Sender', 'Type', 'Content', ''].map((c) => h('th', { scope: 'col' }, c)),
            ),
          ),
          tbody,
        ),
        moreBtn,
      ),
    ),
  );
  void search(false);
  return () => undefined;
}

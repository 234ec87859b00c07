import type {
  AdminMessage,
  Chatroom,
  ChatroomDetail,
  Inbox,
  InboxMessage,
  LoginResult,
  Message,
  MessageType,
  Page,
  PublicUser,
  ReadResult,
  Receipt,
  SentMessage,
  User,
} from '@chat-backend/protocol';
import { ChatError } from './errors.js';

export interface ApiOptions {
  /** The server's origin, e.g. `http://localhost:3000` (or `''` in a page served by it). */
  url: string;
  token?: string;
  /** Defaults to the global `fetch` (Node 18+, browsers). */
  fetch?: typeof fetch;
}

/** Query parameters; undefined values are left out. */
type Query = object;
export interface CursorQuery {
  cursor?: string;
  limit?: number;
}
export interface AdminMessageQuery extends CursorQuery {
  chatroomId?: number;
  senderId?: number;
  type?: MessageType;
  q?: string;
  from?: string;
  to?: string;
  includeDeleted?: boolean;
}

/**
 * The REST half of the contract over `fetch`. Every method resolves with the documented
 * shape or rejects with a `ChatError` carrying the body's `code`, `message` and `details`.
 */
export class ChatApi {
  token: string | undefined;
  private readonly base: string;
  private readonly fetchFn: typeof fetch;

  constructor(opts: ApiOptions) {
    this.base = opts.url.replace(/\/+$/, '');
    this.token = opts.token;
    const f = opts.fetch ?? globalThis.fetch;
    if (!f) throw new Error('No fetch available: pass options.fetch');
    this.fetchFn = f.bind(globalThis);
  }

  // ---- auth
  register(body: { username: string; password: string; nickName?: string; email?: string; headPic?: string }) {
    return this.request<User>('POST', '/auth/register', { body });
  }

  /** Logs in and keeps the token for later calls (and the socket). */
  async login(body: { username: string; password: string }): Promise<LoginResult> {
    const res = await this.request<LoginResult>('POST', '/auth/login', { body });
    this.token = res.accessToken;
    return res;
  }

  /** Revokes the current token and forgets it. */
  async logout(): Promise<void> {
    await this.request<void>('POST', '/auth/logout');
    this.token = undefined;
  }

  async logoutAll(): Promise<void> {
    await this.request<void>('POST', '/auth/logout-all');
    this.token = undefined;
  }

  changePassword(body: { currentPassword: string; newPassword: string }) {
    return this.request<void>('PATCH', '/users/me/password', { body });
  }

  // ---- users
  me() {
    return this.request<User>('GET', '/users/me');
  }

  user(id: number) {
    return this.request<PublicUser>('GET', `/users/${id}`);
  }

  // ---- chatrooms
  createRoom(body: { name: string; memberIds?: number[] }) {
    return this.request<Chatroom>('POST', '/chatrooms', { body });
  }

  /** The one direct room with `userId` (created on first use). */
  directRoom(userId: number) {
    return this.request<Chatroom>('POST', '/chatrooms/direct', { body: { userId } });
  }

  rooms() {
    return this.request<Chatroom[]>('GET', '/chatrooms');
  }

  room(id: number) {
    return this.request<ChatroomDetail>('GET', `/chatrooms/${id}`);
  }

  addMembers(id: number, userIds: number[]) {
    return this.request<ChatroomDetail>('POST', `/chatrooms/${id}/members`, { body: { userIds } });
  }

  /** Removes a member, or leaves the room when `userId` is the caller. */
  removeMember(id: number, userId: number) {
    return this.request<void>('DELETE', `/chatrooms/${id}/members/${userId}`);
  }

  // ---- history
  /** Newest first with `before` (or neither), oldest first with `after`. */
  history(chatroomId: number, q: { before?: number; after?: number; limit?: number } = {}) {
    return this.request<Page<Message>>('GET', `/chatrooms/${chatroomId}/messages`, { query: q });
  }

  // ---- inbox
  inbox() {
    return this.request<Inbox>('GET', '/inbox');
  }

  inboxMessages(q: CursorQuery & { unread?: boolean; chatroomId?: number } = {}) {
    return this.request<Page<InboxMessage>>('GET', '/inbox/messages', { query: q });
  }

  inboxMessage(id: string) {
    return this.request<InboxMessage>('GET', `/inbox/messages/${encodeURIComponent(id)}`);
  }

  /** Up to `seq` in one room, or exactly the given messages. */
  markRead(body: { chatroomId: number; seq: number } | { messageIds: string[] }) {
    return this.request<ReadResult>('POST', '/inbox/read', { body });
  }

  /** Hide for me only. */
  hide(id: string) {
    return this.request<void>('DELETE', `/inbox/messages/${encodeURIComponent(id)}`);
  }

  hideMany(ids: string[]) {
    return this.request<{ hidden: string[] }>('DELETE', '/inbox/messages', { body: { ids } });
  }

  // ---- my messages
  sent(q: CursorQuery & { chatroomId?: number } = {}) {
    return this.request<Page<SentMessage>>('GET', '/messages/sent', { query: q });
  }

  receipts(id: string) {
    return this.request<Receipt[]>('GET', `/messages/${encodeURIComponent(id)}/receipts`);
  }

  edit(id: string, content: string) {
    return this.request<Message>('PATCH', `/messages/${encodeURIComponent(id)}`, { body: { content } });
  }

  /** Retract for everyone: the message becomes a tombstone. */
  retract(id: string) {
    return this.request<void>('DELETE', `/messages/${encodeURIComponent(id)}`);
  }

  retractMany(ids: string[]) {
    return this.request<{ deleted: string[] }>('DELETE', '/messages', { body: { ids } });
  }

  // ---- admin
  adminMessages(q: AdminMessageQuery = {}) {
    return this.request<Page<Message>>('GET', '/admin/messages', { query: q });
  }

  adminMessage(id: string) {
    return this.request<AdminMessage>('GET', `/admin/messages/${encodeURIComponent(id)}`);
  }

  moderate(id: string) {
    return this.request<void>('DELETE', `/admin/messages/${encodeURIComponent(id)}`);
  }

  moderateMany(ids: string[]) {
    return this.request<{ deleted: string[] }>('DELETE', '/admin/messages', { body: { ids } });
  }

  disableUser(id: number) {
    return this.request<void>('POST', `/admin/users/${id}/disable`);
  }

  enableUser(id: number) {
    return this.request<void>('POST', `/admin/users/${id}/enable`);
  }

  health() {
    return this.request<{ status: string; [k: string]: unknown }>('GET', '/health');
  }

  /** Any route: JSON in and out, errors as ChatError. Resolves `undefined` for 204. */
  async request<T>(method: string, path: string, opts: { query?: Query; body?: unknown } = {}): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await this.fetchFn(this.base + path + queryString(opts.query), {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      });
    } catch (err) {
      throw new ChatError('UNAVAILABLE', `Network error: ${(err as Error).message}`);
    }
    const text = await res.text();
    let body: unknown = undefined;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = { message: text };
      }
    }
    if (!res.ok) throw ChatError.from(body, res.status);
    return body as T;
  }
}

function queryString(q?: Query): string {
  if (!q) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(q) as [string, string | number | boolean | undefined][]) {
    if (v !== undefined) params.set(k, String(v));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

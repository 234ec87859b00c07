import './style.css';
import { Chat } from './chat';
import { h, mount } from './h';
import { clearSession, loadSession, saveSession } from './session';
import { Store } from './store';
import { ChatError, type LoginResult, type User } from '@chat-backend/client';
import { adminView } from './views/admin';
import { authView } from './views/auth';
import { roomView } from './views/room';
import { sidebarView } from './views/sidebar';

const root = document.getElementById('app')!;

type Route = { name: 'home' } | { name: 'room'; id: number } | { name: 'admin' };

/** Client routes live in the URL hash, so the server never has to guess which paths are pages. */
function route(): Route {
  const hash = location.hash.replace(/^#\/?/, '');
  const room = /^rooms\/(\d+)$/.exec(hash);
  if (room) return { name: 'room', id: Number(room[1]) };
  if (hash === 'admin') return { name: 'admin' };
  return { name: 'home' };
}

function showAuth(): void {
  authView(root, (r: LoginResult) => {
    saveSession({ token: r.accessToken, userId: r.user.id, username: r.user.username });
    void start(r.accessToken);
  });
}

async function start(token: string): Promise<void> {
  const store = new Store();
  const chat = new Chat(store, token);
  let me: User;
  try {
    me = await chat.api.me();
  } catch (err) {
    if (err instanceof ChatError && err.code === 'UNAUTHORIZED') {
      clearSession();
      return showAuth();
    }
    mount(root, h('p', { class: 'empty', role: 'alert' }, `Cannot reach the server: ${(err as Error).message}`));
    return;
  }
  store.me = me;
  const shell = h('div', { class: 'shell' });
  const sidebar = h('nav', { class: 'sidebar', 'aria-label': 'Rooms and account' });
  const main = h('main', { class: 'main' });
  shell.append(sidebar, main);
  mount(root, shell);

  let current: Route = route();
  let cleanup: () => void = () => undefined;
  const signOut = () => {
    void chat.api
      .logout()
      .catch(() => undefined)
      .finally(() => chat.stop());
    clearSession();
    location.hash = '#/';
    cleanup();
    offSidebar();
    window.removeEventListener('hashchange', show);
    showAuth();
  };
  const offSidebar = sidebarView(sidebar, chat, () => (current.name === 'room' ? current.id : null), signOut);

  function show(): void {
    current = route();
    cleanup();
    shell.classList.toggle('in-room', current.name !== 'home');
    if (current.name === 'room') cleanup = roomView(main, chat, current.id);
    else if (current.name === 'admin' && me.role === 'admin') cleanup = adminView(main, chat);
    else {
      cleanup = () => undefined;
      mount(main, h('p', { class: 'empty' }, 'Pick a room, or start a new one.'));
    }
    store.emit('route');
  }
  window.addEventListener('hashchange', show);
  show();
  await chat.start(signOut).catch((err: Error) => {
    if (err instanceof ChatError && err.code === 'UNAUTHORIZED') signOut();
  });
}

const session = loadSession();
if (session) void start(session.token);
else showAuth();

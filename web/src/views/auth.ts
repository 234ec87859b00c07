import { freshFetch } from '../chat';
import { h, mount } from '../h';
import { ChatApi, ChatError, type LoginResult } from '@chat-backend/client';

/** Sign in or create an account; calls `done` with the login result. */
export function authView(root: HTMLElement, done: (r: LoginResult) => void): void {
  const api = new ChatApi({ url: location.origin, fetch: freshFetch });
  let mode: 'login' | 'register' = 'login';

  const render = () => {
    const error = h('p', { class: 'error', role: 'alert', id: 'auth-error' });
    const username = h('input', {
      name: 'username',
      autocomplete: 'username',
      required: true,
      minLength: 3,
      maxLength: 32,
      pattern: '[A-Za-z0-9_]+',
    });
    const password = h('input', {
      name: 'password',
      type: 'password',
      required: true,
      minLength: 8,
      maxLength: 128,
      autocomplete: mode === 'login' ? 'current-password' : 'new-password',
    });
    const submit = h('button', { class: 'primary', type: 'submit' }, mode === 'login' ? 'Sign in' : 'Create account');
    const onsubmit = async (ev: Event) => {
      ev.preventDefault();
      submit.disabled = true;
      error.textContent = '';
      const creds = { username: username.value.trim(), password: password.value };
      try {
        if (mode === 'register') await api.register(creds);
        done(await api.login(creds));
      } catch (err) {
        error.textContent =
          err instanceof ChatError && err.code === 'UNAUTHORIZED'
            ? 'Wrong username or password.'
            : (err as Error).message;
        submit.disabled = false;
      }
    };
    mount(
      root,
      h(
        'main',
        { class: 'auth' },
        h('h1', null, mode === 'login' ? 'Sign in to chat' : 'Create an account'),
        h(
          'form',
          { onsubmit, 'aria-describedby': 'auth-error' },
          h('label', null, 'Username', username),
          h('label', null, mode === 'register' ? 'Password (at least 8 characters)' : 'Password', password),
          error,
          submit,
        ),
        h(
          'p',
          { class: 'switch' },
          h(
            'button',
            {
              class: 'link',
              type: 'button',
              onclick: () => {
                mode = mode === 'login' ? 'register' : 'login';
                render();
              },
            },
            mode === 'login' ? 'New here? Create an account' : 'Have an account? Sign in',
          ),
        ),
      ),
    );
    username.focus();
  };
  render();
}

/** The signed-in session, kept in localStorage so that a reload keeps it. */
export interface StoredSession {
  token: string;
  userId: number;
  username: string;
}

const KEY = 'chat.session';

export function loadSession(): StoredSession | null {
  try {
    const s = JSON.parse(localStorage.getItem(KEY) ?? 'null') as StoredSession | null;
    return s && typeof s.token === 'string' && typeof s.userId === 'number' ? s : null;
  } catch {
    return null;
  }
}

export function saveSession(s: StoredSession): void {
  localStorage.setItem(KEY, JSON.stringify(s));
}

export function clearSession(): void {
  localStorage.removeItem(KEY);
}

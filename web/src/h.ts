/** A few lines of DOM building instead of a framework: `h('button', {onclick}, 'Send')`. */
export type Child = Node | string | number | null | undefined | false;
type Props = Record<string, unknown>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props | null = null,
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value as EventListener);
    } else if (key === 'class') {
      el.className = value as string;
    } else if (key.includes('-') || key === 'for' || key === 'role') {
      el.setAttribute(key, value === true ? '' : (value as string | number).toString());
    } else {
      (el as unknown as Props)[key] = value;
    }
  }
  append(el, children);
  return el;
}

function append(el: HTMLElement, children: (Child | Child[])[]): void {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'number' ? String(c) : c);
  }
}

/** Replaces an element's children. */
export function mount(el: HTMLElement, ...children: (Child | Child[])[]): void {
  el.replaceChildren();
  append(el, children);
}

export function fmtTime(iso: string | Date): string {
  const d = new Date(iso);
  const sameDay = d.toDateString() === new Date().toDateString();
  return sameDay
    ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : d.toLocaleDateString([], { month: 'short', day: 'numeric' });
}

/** Only https URLs become images or links: no javascript:, no mixed content. */
export function httpsUrl(s: string): string | null {
  try {
    const u = new URL(s.trim());
    return u.protocol === 'https:' ? u.href : null;
  } catch {
    return null;
  }
}

/** An https link whose path ends like an image file: sent as an image without asking. */
export function looksLikeImageUrl(s: string): boolean {
  const u = httpsUrl(s);
  return !!u && /\.(png|jpe?g|gif|webp|avif|svg)$/i.test(new URL(u).pathname);
}

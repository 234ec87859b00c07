import {
  cutBySize,
  fittingCount,
  fittingCounts,
  jsonTextLength,
  messageChars,
  PAGE_CHARS_PER_MESSAGE,
  PAGE_MAX_CHARS,
  PREVIEW_MAX_CHARS,
  previewOf,
} from './page-size';

const messages = (n: number, chars: number, ch = 'x') =>
  Array.from({ length: n }, () => ({ content: ch.repeat(chars) }));

describe('jsonTextLength', () => {
  it('is the length of the string inside JSON quotes, escapes included', () => {
    const every = Array.from({ length: 0x80 }, (_, c) => String.fromCharCode(c)).join('');
    for (const s of ['', 'plain text', 'é漢字🎉', 'say "hi"', 'C:\\path', 'a\nb\tc\r', '\u0001\u001f\u007f', every]) {
      expect(jsonTextLength(s)).toBe(JSON.stringify(s).length - 2);
    }
  });

  it('weighs a control character as the six characters JSON writes for it', () => {
    expect(messageChars({ content: '\u0001'.repeat(4000) })).toBe(24_000 + PAGE_CHARS_PER_MESSAGE);
  });
});

describe('fittingCount', () => {
  it('keeps a page of ordinary messages whole', () => {
    expect(fittingCount(messages(200, 100))).toBe(200);
    expect(fittingCount(messages(30, 4000))).toBe(30);
  });

  it('cuts a page of long messages at PAGE_MAX_CHARS, counting what each costs besides its content', () => {
    const per = 4000 + PAGE_CHARS_PER_MESSAGE;
    expect(fittingCount(messages(200, 4000))).toBe(Math.floor(PAGE_MAX_CHARS / per));
  });

  it('counts escapes, so control characters make a page of a sixth as many messages', () => {
    const per = 6 * 4000 + PAGE_CHARS_PER_MESSAGE;
    expect(fittingCount(messages(200, 4000, '\u0001'))).toBe(Math.floor(PAGE_MAX_CHARS / per));
  });

  it('always gives at least one message, so a client following the cursor moves on', () => {
    expect(fittingCount(messages(3, PAGE_MAX_CHARS * 2))).toBe(1);
    expect(fittingCount([])).toBe(0);
  });

  it('cuts a page to what fits, continuing from its last item; a page that fits is left as it is', () => {
    const long = messages(100, 4000).map((m, i) => ({ ...m, seq: i + 1 }));
    const cut = cutBySize({ items: long, hasMore: false }, (last) => String(last.seq));
    const fits = fittingCount(long);
    expect([cut.items.length, cut.hasMore, cut.nextCursor]).toEqual([fits, true, String(fits)]);
    const whole = { items: long.slice(0, 3), hasMore: true, nextCursor: '3' };
    expect(cutBySize(whole, () => 'x')).toBe(whole);
  });
});

describe('fittingCounts (one sync answer, several rooms)', () => {
  it('leaves lists that fit together whole', () => {
    expect(fittingCounts([messages(100, 100), [], messages(200, 100)])).toEqual([100, 0, 200]);
  });

  it('takes the rooms in turn, so each gets an equal part of the answer', () => {
    const counts = fittingCounts([messages(500, 4000), messages(500, 4000), messages(3, 4000)]);
    const total = Math.floor(PAGE_MAX_CHARS / (4000 + PAGE_CHARS_PER_MESSAGE));
    expect(counts[2]).toBe(3);
    expect(counts[0] + counts[1] + counts[2]).toBe(total);
    expect(Math.abs(counts[0] - counts[1])).toBeLessThanOrEqual(1);
  });

  it('gives every room that has messages at least one, even past the size', () => {
    expect(fittingCounts([messages(5, PAGE_MAX_CHARS), messages(5, PAGE_MAX_CHARS), []])).toEqual([1, 1, 0]);
  });
});

describe('previewOf (a room list’s last message)', () => {
  it('leaves a message that fits as it is', () => {
    const m = { id: 'a', content: 'x'.repeat(PREVIEW_MAX_CHARS) };
    expect(previewOf(m)).toBe(m);
  });

  it('cuts a long one to PREVIEW_MAX_CHARS of JSON and says so', () => {
    expect(previewOf({ id: 'a', content: 'x'.repeat(4000) })).toEqual({
      id: 'a',
      content: 'x'.repeat(PREVIEW_MAX_CHARS),
      truncated: true,
    });
    const controls = previewOf({ content: '\u0001'.repeat(4000) });
    expect(controls.content).toBe('\u0001'.repeat(Math.floor(PREVIEW_MAX_CHARS / 6)));
    expect(JSON.stringify(controls.content).length - 2).toBeLessThanOrEqual(PREVIEW_MAX_CHARS);
  });

  it('never cuts between the two halves of a surrogate pair', () => {
    const emoji = '🎉'.repeat(PREVIEW_MAX_CHARS); // two UTF-16 units each
    const odd = previewOf({ content: `x${emoji}` }).content;
    expect(odd).toBe(`x${'🎉'.repeat((PREVIEW_MAX_CHARS - 2) / 2)}`);
    expect(Buffer.from(odd).toString()).toBe(odd); // a lone surrogate would become U+FFFD
  });
});

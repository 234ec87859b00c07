import { cutBySize, fittingCount, PAGE_CHARS_PER_MESSAGE, PAGE_MAX_CHARS } from './page-size';

const messages = (n: number, chars: number) => Array.from({ length: n }, () => ({ content: 'x'.repeat(chars) }));

describe('fittingCount', () => {
  it('keeps a page of ordinary messages whole', () => {
    expect(fittingCount(messages(200, 100))).toBe(200);
    expect(fittingCount(messages(30, 4000))).toBe(30);
  });

  it('cuts a page of long messages at PAGE_MAX_CHARS, counting what each costs besides its content', () => {
    const per = 4000 + PAGE_CHARS_PER_MESSAGE;
    expect(fittingCount(messages(200, 4000))).toBe(Math.floor(PAGE_MAX_CHARS / per));
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

import { ArgumentMetadata } from '@nestjs/common';
import { payloadCases, prng, randomJson, RawJson, toJson } from '../../../test/utils/fuzz-cases';
import { equals, fuzzCtx, outcome } from '../../../test/utils/fast-accept';
import { fieldsOfClass } from '../../../test/utils/fuzz-model';
import { SocketPayloadPipe } from '../../common/payload-validation.pipe';
import { acceptSendMessage, SendMessageDto } from './chat-events.dto';

const meta: ArgumentMetadata = { type: 'body', metatype: SendMessageDto };
const pipe = new SocketPayloadPipe();

/** A payload as the gateway gets it: JSON parsed by socket.io-parser (a fresh copy per use). */
const wire = (c: unknown) => (): unknown => (c instanceof RawJson || isJsonable(c) ? JSON.parse(toJson(c)) : c);
const isJsonable = (c: unknown) => c !== undefined && !(c instanceof Buffer);

const ctx = fuzzCtx;
const good = { chatroomId: 7, message: { type: 'text', content: 'hi' } };

const handPicked: unknown[] = [
  good,
  { ...good, clientMsgId: 'c-1.a:b_Z' },
  { ...good, clientMsgId: null },
  { ...good, clientMsgId: 'x'.repeat(64) },
  { ...good, clientMsgId: 'x'.repeat(65) },
  { ...good, clientMsgId: 'a b' },
  { ...good, clientMsgId: 'é' },
  { ...good, sendUserId: null },
  { ...good, sendUserId: 3 },
  { ...good, sendUserId: 2147483647 },
  { ...good, chatroomId: 2147483647 },
  { ...good, chatroomId: 2147483648 },
  { ...good, chatroomId: '7' },
  { ...good, chatroomId: null },
  { ...good, message: { type: 'image', content: 'https://x/y.png' } },
  { ...good, message: { type: 'file', content: 'f' } },
  { ...good, message: { type: 'TEXT', content: 'f' } },
  { ...good, message: { type: 'text', content: '' } },
  { ...good, message: { type: 'text', content: '\ufe0f' } },
  { ...good, message: { type: 'text', content: '\ufe0f\ufe0f' } },
  { ...good, message: { type: 'text', content: '\ufe0e\ufe0f\ufe0e' } },
  { ...good, message: { type: 'text', content: 'a\ufe0f' } },
  { ...good, message: { type: 'text', content: '😀' } },
  { ...good, message: { type: 'text', content: '😀\ufe0f' } },
  { ...good, message: { type: 'text', content: '\udc00\ud800' } },
  { ...good, message: { type: 'text', content: 'x'.repeat(100_000) } },
  { ...good, message: { type: 'text', content: 'x'.repeat(100_001) } },
  { ...good, message: { type: 'text', content: '😀'.repeat(50_001) } },
  { ...good, message: { type: 'text', content: 'a\u0000' } },
  { ...good, message: { type: 'text', content: ' ' } },
  { ...good, message: { type: 'text', content: '\t\n\u00a0\u3000\u2028' } },
  { ...good, message: { type: 'text', content: '\u200b\u200c\u200d\ufeff' } },
  { ...good, message: { type: 'text', content: ' \u200bhi\u3000 ' } },
  { ...good, message: { type: 'image', content: ' ' } },
  { ...good, message: { type: 'text', content: 'hi', extra: 1 } },
  { ...good, message: { type: 'text' } },
  { ...good, message: { content: 'x' } },
  { ...good, message: {} },
  { chatroomId: 7 },
  {},
];
/** Not JSON: what socket.io's binary packets or a caller in-process could hand the pipe. */
const nonJson: unknown[] = [
  undefined,
  Buffer.from('{}'),
  { ...good, message: { type: 'text', content: Buffer.from('hi') } },
  { ...good, message: Object.assign(Object.create(null) as object, { type: 'text', content: 'x' }) },
  Object.assign(Object.create(null) as object, good),
  Object.assign(new SendMessageDto(), good),
];

const labelOf = (v: unknown) => {
  try {
    return (JSON.stringify(v) ?? String(v)).slice(0, 120);
  } catch {
    return 'a deeply nested value';
  }
};

/** Valid, but left to the full path by design: content over 100,000 UTF-16 units (emoji count as one). */
const leftToFullPath = (v: unknown) => {
  const content = (v as { message?: { content?: unknown } } | null)?.message?.content;
  return typeof content === 'string' && content.length > 100_000;
};

function allCases(): unknown[] {
  const fields = fieldsOfClass(SendMessageDto);
  const r = prng(11);
  const names = ['chatroomId', 'clientMsgId', 'message', 'sendUserId', 'type', 'content'];
  const random = Array.from({ length: 3000 }, () => randomJson(r, names));
  // Random values under a valid shape, so the fields' checks are reached.
  const shaped = Array.from({ length: 3000 }, () => {
    const c = { ...good, message: { ...good.message } } as Record<string, unknown>;
    const m = c.message as Record<string, unknown>;
    const target = r.rnd() < 0.5 ? c : m;
    target[r.pick(names)] = randomJson(r, names, 3);
    return c;
  });
  return [...handPicked, ...payloadCases(fields, ctx, true), ...payloadCases(fields, ctx, false), ...random, ...shaped];
}

describe('sendMessage fast accept (vs the DTO rules)', () => {
  it('accepts exactly what the full path accepts, as the same DTO, on the fuzz cases', async () => {
    const cases = allCases();
    const wrong: string[] = [];
    let accepted = 0;
    // Non-JSON values (null prototypes, class instances) may take the full path even when valid.
    const all = [
      ...cases.map((c) => ({ c: wire(c), json: true })),
      ...nonJson.map((v) => ({ c: () => v, json: false })),
    ];
    for (const { c, json } of all) {
      const full = await outcome(() => pipe.validateFully(c(), meta));
      const fast = acceptSendMessage(c());
      const label = () => labelOf(c());
      if (fast !== undefined) {
        accepted++;
        if (!('ok' in full)) wrong.push(`accepted what the full path refuses: ${label()}`);
        else if (!equals(fast, full.ok)) wrong.push(`accepted as a different DTO: ${label()}`);
      } else if ('ok' in full && json && !leftToFullPath(c())) {
        wrong.push(`fell back on a plain valid payload: ${label()}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(cases.length).toBeGreaterThan(5000);
    expect(accepted).toBeGreaterThan(50);
  });

  it('leaves the refusals to the full path: the same VALIDATION_FAILED errors naming the fields', async () => {
    for (const c of allCases().map(wire)) {
      const viaPipe = await outcome(() => pipe.transform(c(), meta));
      const full = await outcome(() => pipe.validateFully(c(), meta));
      expect(viaPipe).toStrictEqual(full);
    }
  });

  it('is used for SendMessageDto only, not for its subclasses', async () => {
    class Sub extends SendMessageDto {}
    const dto = await pipe.transform(JSON.parse(JSON.stringify(good)), { type: 'body', metatype: Sub });
    expect(dto).toBeInstanceOf(Sub);
  });
});

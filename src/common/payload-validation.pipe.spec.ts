import { ArgumentMetadata } from '@nestjs/common';
import { WsException } from '@nestjs/websockets';
import { SendMessageDto, SyncDto } from '../chat/dto/chat-events.dto';
import { CreateChatroomDto } from '../chatrooms/dto/chatroom.dto';
import { toErrorBody } from './errors';
import { PayloadValidationPipe, SocketPayloadPipe } from './payload-validation.pipe';

const body = (metatype: ArgumentMetadata['metatype']): ArgumentMetadata => ({ type: 'body', metatype });

async function errorOf(p: Promise<unknown>) {
  try {
    await p;
  } catch (e) {
    return toErrorBody(e instanceof WsException ? e.getError() : e);
  }
  throw new Error('expected a refusal');
}

describe('SocketPayloadPipe', () => {
  const pipe = new SocketPayloadPipe();

  it.each([
    [{ chatroomId: 1 }, 'message'],
    [{ chatroomId: 1, message: null }, 'message'],
    [{ chatroomId: 1, message: 'hi' }, 'message'],
    [{ chatroomId: 1, message: [{ type: 'text', content: 'x' }] }, 'message'],
    [{ chatroomId: 1, message: { type: 'text', content: 'a\u0000b' } }, 'message.content'],
    [{ chatroomId: 2147483648, message: { type: 'text', content: 'x' } }, 'chatroomId'],
  ])('refuses sendMessage %j naming %s, as a WsException', async (payload, field) => {
    const p = pipe.transform(payload, body(SendMessageDto));
    await expect(p).rejects.toBeInstanceOf(WsException);
    const err = await errorOf(pipe.transform(payload, body(SendMessageDto)));
    expect(err.code).toBe('VALIDATION_FAILED');
    expect((err.details as { field: string }[]).map((d) => d.field)).toContain(field);
  });

  it.each([[[[]]], [[1]], [[null]], [['x']]])('refuses sync rooms %j', async (rooms) => {
    const err = await errorOf(pipe.transform({ rooms }, body(SyncDto)));
    expect(err.code).toBe('VALIDATION_FAILED');
    expect((err.details as { field: string }[]).map((d) => d.field)).toContain('rooms');
  });

  it.each([[{ 0: { chatroomId: 1, afterSeq: 0 } }], ['abc'], [{ length: 5 }]])(
    'says only "must be an array" of sync rooms %j, not its size or elements',
    async (rooms) => {
      const err = await errorOf(pipe.transform({ rooms }, body(SyncDto)));
      expect(err).toMatchObject({
        code: 'VALIDATION_FAILED',
        details: [{ field: 'rooms', errors: ['rooms must be an array'] }],
      });
    },
  );

  it.each([undefined, null, 'x', 5, [1]])('refuses the non-object payload %j', async (payload) => {
    expect(await errorOf(pipe.transform(payload, body(SendMessageDto)))).toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('passes a good payload as a DTO instance', async () => {
    const dto = await pipe.transform({ chatroomId: 1, message: { type: 'text', content: '👋' } }, body(SendMessageDto));
    expect(dto).toBeInstanceOf(SendMessageDto);
  });
});

describe('PayloadValidationPipe (REST)', () => {
  const pipe = new PayloadValidationPipe();

  it('leaves socket payload DTOs to the gateway pipe', async () => {
    const raw = { chatroomId: 'not even a number' };
    await expect(pipe.transform(raw, body(SendMessageDto))).resolves.toBe(raw);
  });

  it('checks bodies, queries and path params raw before class-transformer', async () => {
    const deep = JSON.parse('{"name":' + '{"a":'.repeat(50_000) + '1' + '}'.repeat(50_000) + '}') as unknown;
    expect(await errorOf(pipe.transform(deep, body(CreateChatroomDto)))).toMatchObject({ code: 'VALIDATION_FAILED' });
    const q = await errorOf(pipe.transform({ q: 'a\u0000' }, { type: 'query', metatype: Object }));
    expect(q.details).toEqual([{ field: 'q', errors: [expect.stringMatching(/NUL/)] }]);
    const param = await errorOf(pipe.transform('\ud800', { type: 'param', data: 'id', metatype: String }));
    expect(param.details).toEqual([{ field: 'id', errors: [expect.stringMatching(/surrogate/)] }]);
    await expect(pipe.transform({ name: 'x' }, body(CreateChatroomDto))).resolves.toBeInstanceOf(CreateChatroomDto);
  });
});

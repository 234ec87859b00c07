import { Parser } from '@asyncapi/parser';
import { ERROR_CODES } from '@chat-backend/protocol';
import { ClientEvent, ServerEvent, TimelineEvent } from '../common/constants';
import { ErrorCode } from '../common/errors';
import { buildAsyncApiDocument } from './asyncapi.document';
import { renderAsyncApiPage } from './asyncapi.page';

describe('AsyncAPI document', () => {
  const doc = buildAsyncApiDocument('chat.example:3000') as any;

  it('is a valid AsyncAPI 3 document (the official parser reports no errors)', async () => {
    const { document, diagnostics } = await new Parser().parse(JSON.stringify(doc));
    const errors = diagnostics.filter((d) => Number(d.severity) === 0); // DiagnosticSeverity.Error
    expect(errors.map((e) => `${e.path.join('.')}: ${e.message}`)).toEqual([]);
    expect(document?.version()).toBe('3.0.0');
  }, 30_000);

  it('has a receive operation with an ack reply for every client event in constants.ts', () => {
    for (const event of Object.values(ClientEvent)) {
      const op = doc.operations[event];
      expect(op).toMatchObject({ action: 'receive', title: event });
      const [ack] = op.reply.messages;
      const msg = doc.components.messages[ack.$ref.split('/').pop()];
      expect(msg.name).toBe(event);
      const schema = doc.components.schemas[msg.payload.$ref.split('/').pop()];
      expect(schema.oneOf.map((b: any) => b.properties.ok.const)).toEqual([true, false]);
    }
  });

  it('has a send operation for every server event, and every timeline variant of `message`', () => {
    const sent = Object.values(doc.operations as Record<string, any>)
      .filter((op) => op.action === 'send')
      .map((op) => op.title);
    expect(sent).toEqual(expect.arrayContaining([...Object.values(ServerEvent), 'connect_error']));
    const timeline = doc.components.schemas.TimelineEvent.oneOf.map((v: any) => v.properties.type.const);
    expect(timeline.sort()).toEqual(Object.values(TimelineEvent).sort());
  });

  it('lists the same error codes as the server', () => {
    expect([...ERROR_CODES].sort()).toEqual(Object.values(ErrorCode).sort());
  });

  it('names the host it was served from, and documents the handshake', () => {
    expect(doc.servers.chat).toMatchObject({ host: 'chat.example:3000', pathname: '/socket.io' });
    expect(doc.info.description).toContain('"unauthorized"');
  });

  it('renders a self-contained page with every event, its payload and its ack', () => {
    const html = renderAsyncApiPage(doc);
    for (const event of [...Object.values(ClientEvent), ...Object.values(ServerEvent)]) {
      expect(html).toContain(`<code>${event}</code>`);
    }
    expect(html).toContain('clientMsgId?: string');
    expect(html).not.toMatch(/<script|https?:\/\/(?!chat\.example)/);
  });
});

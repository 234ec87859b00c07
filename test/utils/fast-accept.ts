import { WsException } from '@nestjs/websockets';
import { toErrorBody } from '../../src/common/errors';
import type { Ctx } from './fuzz-cases';

/** What a pipe call makes of a payload: the DTO, or the error body the client would get. */
export async function outcome(run: () => Promise<unknown>): Promise<{ ok: unknown } | { error: unknown }> {
  try {
    return { ok: await run() };
  } catch (e) {
    return { error: toErrorBody(e instanceof WsException ? e.getError() : e) };
  }
}

/** Same class, same own properties, nested included (jest's strict equality, as a boolean). */
export function equals(a: unknown, b: unknown): boolean {
  try {
    expect(a).toStrictEqual(b);
    return true;
  } catch {
    return false;
  }
}

/** The ids the generated payload cases use. */
export const fuzzCtx: Ctx = {
  roomId: 7,
  userId: 3,
  otherId: 4,
  messageId: '019a0000-0000-7000-8000-000000000000',
  seq: 1,
  unique: () => 'u1',
};

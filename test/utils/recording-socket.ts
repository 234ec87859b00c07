import { Writable } from 'node:stream';

/**
 * A socket that records each system-call-sized write: one entry per _write or _writev, so a
 * test sees which commands left together (TurnPipeline, AppendBatcher).
 */
export class RecordingSocket extends Writable {
  readonly writes: string[][] = [];

  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.writes.push([chunk.toString()]);
    done();
  }

  override _writev(chunks: { chunk: Buffer }[], done: () => void): void {
    this.writes.push(chunks.map((c) => c.chunk.toString()));
    done();
  }
}

import { Injectable } from '@nestjs/common';

/**
 * What this process knows of its in-server persistence thread (src/persist-thread.ts):
 * PersistThread reports heartbeats and exits here, readiness reads them. Unused (never
 * attached) when the worker runs inline or in another process.
 */
@Injectable()
export class WorkerStatus {
  private attached = false;
  private alive = false;
  private lastBeat = 0;
  private running = false;
  restarts = 0;

  get threaded(): boolean {
    return this.attached;
  }

  threadStarted(): void {
    this.attached = true;
    this.alive = true;
    this.lastBeat = 0;
    this.running = false;
  }

  beat(running: boolean): void {
    this.lastBeat = Date.now();
    this.running = running;
  }

  threadExited(): void {
    this.alive = false;
  }

  /** Milliseconds since the last heartbeat; Infinity before the first. */
  sinceBeat(): number {
    return this.lastBeat ? Date.now() - this.lastBeat : Infinity;
  }

  snapshot() {
    const since = this.sinceBeat();
    return {
      alive: this.alive,
      running: this.running,
      lastHeartbeatMs: Number.isFinite(since) ? since : null,
      restarts: this.restarts,
    };
  }
}

import { Injectable, OnModuleDestroy } from '@nestjs/common';

const INTERVAL_MS = 500;

/**
 * Event-loop lag as the liveness probe reports it: how late a 500 ms timer fires (the
 * latest sample and the worst of the last 10 s). A blocked loop answers no probe at all;
 * this says how close it came.
 */
@Injectable()
export class LoopLag implements OnModuleDestroy {
  private last = 0;
  private samples: number[] = [];
  private expected = performance.now() + INTERVAL_MS;
  private readonly timer = setInterval(() => this.tick(), INTERVAL_MS).unref();

  private tick(): void {
    const now = performance.now();
    this.last = Math.max(0, now - this.expected);
    this.samples = [...this.samples.slice(-19), this.last];
    this.expected = now + INTERVAL_MS;
  }

  current(): { lagMs: number; maxLagMs: number } {
    const round = (n: number) => Math.round(n * 10) / 10;
    return { lagMs: round(this.last), maxLagMs: round(Math.max(0, ...this.samples)) };
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }
}

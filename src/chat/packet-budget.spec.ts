import type { AppConfig } from '../config/app-config';
import { packetBudgetOf } from './packet-budget';

const config = (c: Partial<AppConfig>) =>
  ({ sendBurst: 40, sendRatePerSec: 20, socketEventBurst: 500, socketEventRatePerSec: 50, ...c }) as AppConfig;

describe('packetBudgetOf', () => {
  it('leaves room above what the other budgets let a client send, with a floor', () => {
    expect(packetBudgetOf(config({}))).toEqual({ burst: 1480, perSec: 200 });
    expect(
      packetBudgetOf(config({ sendBurst: 1, socketEventBurst: 1, sendRatePerSec: 1, socketEventRatePerSec: 1 })),
    ).toEqual({ burst: 1000, perSec: 200 });
  });

  it('grows with the send limits an operator raises: a bridge sending 1,000 a second is not cut', () => {
    expect(packetBudgetOf(config({ sendRatePerSec: 1000, sendBurst: 2000 }))).toEqual({ burst: 5400, perSec: 2140 });
  });
});

import { lifetimeSeconds } from './token.service';

describe('lifetimeSeconds (JWT_EXPIRES_IN as jsonwebtoken reads it)', () => {
  it.each([
    [3600, 3600],
    ['3600', 3600],
    ['90s', 90],
    ['15m', 900],
    ['12h', 43_200],
    ['7d', 604_800],
    ['1500ms', 1.5],
  ])('%p is %p s', (value, seconds) => expect(lifetimeSeconds(value)).toBe(seconds));

  it('refuses what is not a duration', () => expect(() => lifetimeSeconds('12 hours')).toThrow('not a duration'));
});

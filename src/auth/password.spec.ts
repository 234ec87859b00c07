import { kdfGate } from './kdf-gate';
import { dummyHash, hashPassword, verifyPassword } from './password';

describe('password hashing', () => {
  it('verifies the right password and refuses a wrong one', async () => {
    const stored = await hashPassword('correct horse');
    expect(stored).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    await expect(verifyPassword('correct horse', stored)).resolves.toBe(true);
    await expect(verifyPassword('correct horsE', stored)).resolves.toBe(false);
  });

  it('salts: the same password hashes differently', async () => {
    expect(await hashPassword('same')).not.toBe(await hashPassword('same'));
  });

  it('refuses a stored value it does not understand', async () => {
    await expect(verifyPassword('x', 'plain-text-password')).resolves.toBe(false);
  });
});

describe('password hashing under load', () => {
  /** Takes every slot and queue place of the process's gate until `finish` is called. */
  function fillGate() {
    let finish!: () => void;
    const held = new Promise<void>((resolve) => (finish = resolve));
    const blockers = Array.from({ length: kdfGate.slots + kdfGate.maxQueued }, () => kdfGate.run(() => held));
    return async () => {
      finish();
      await Promise.all(blockers);
    };
  }

  it('goes through the process-wide KDF gate: refused with RATE_LIMITED once its queue is full', async () => {
    const stored = await hashPassword('correct horse');
    const release = fillGate();
    try {
      expect(kdfGate.isFull()).toBe(true);
      await expect(hashPassword('anything')).rejects.toMatchObject({ code: 'RATE_LIMITED' });
      await expect(verifyPassword('correct horse', stored)).rejects.toMatchObject({ code: 'RATE_LIMITED' });
      expect(kdfGate.queued).toBe(kdfGate.maxQueued); // nothing was queued behind the blockers
    } finally {
      await release();
    }
    await expect(verifyPassword('correct horse', stored)).resolves.toBe(true);
  });

  it('does not keep a refused dummy hash: the next login makes it', async () => {
    const release = fillGate();
    await expect(dummyHash()).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    await release();
    await expect(dummyHash()).resolves.toMatch(/^scrypt\$/);
  });
});

import { Injectable } from '@nestjs/common';
import { RedisKeys } from '../common/constants';
import { RedisService } from '../redis/redis.service';
import { INBOX_VERSION_TTL_S, nextInboxVersionScript } from './scripts/next-inbox-version.script';

/**
 * Orders a user's `inbox` events across instances. Two instances recount the same user at
 * about the same time (two devices marking read on different instances, a read and a new
 * message), and each sends its counts as its recount ends: a member's sockets could get the
 * newer counts first and keep the older ones, a wrong badge until the next event (a
 * hostile-client probe: 12 of 120). A recount takes its version after the write that caused
 * it and before it reads, so a higher version has read every change that a lower one saw;
 * clients keep the event with the highest version (the SDK drops the others).
 */
@Injectable()
export class InboxVersions {
  private readonly next: ReturnType<typeof nextInboxVersionScript.on>;

  constructor(redis: RedisService) {
    this.next = nextInboxVersionScript.on(redis.client);
  }

  /** The version of the counts about to be read for the user. */
  take(userId: number): Promise<number> {
    return this.next({ version: RedisKeys.inboxVersion(userId) }, INBOX_VERSION_TTL_S);
  }
}

/**
 * Who is in which room, with a signed token per user. The real server's rooms come from the
 * seeded database; the baseline's are made up (it checks nothing) but shaped the same, so
 * both targets get identical load.
 */
import * as jwt from 'jsonwebtoken';
import type { BenchMember, BenchRoom } from './protocol';

export interface SeedUser {
  id: number;
  username: string;
}

export const benchUsername = (i: number): string => `bench_u${String(i).padStart(6, '0')}`;

/** The token the server's auth guard accepts: HS256 with the server's JWT_SECRET. */
export function mintToken(user: SeedUser, secret: string): string {
  return jwt.sign({ sub: user.id, username: user.username, role: 'user' }, secret, {
    algorithm: 'HS256',
    expiresIn: '1h',
  });
}

/** Users in order, `roomSize` at a time, into the rooms in order. */
export function groupIntoRooms(users: SeedUser[], roomIds: number[], roomSize: number, secret: string): BenchRoom[] {
  return roomIds.map((chatroomId, r) => ({
    chatroomId,
    members: users
      .slice(r * roomSize, (r + 1) * roomSize)
      .map((u): BenchMember => ({ userId: u.id, username: u.username, token: mintToken(u, secret) })),
  }));
}

export function syntheticRooms(clients: number, roomSize: number, secret: string): BenchRoom[] {
  const users = Array.from({ length: clients }, (_, i) => ({ id: i + 1, username: benchUsername(i + 1) }));
  const roomIds = Array.from({ length: clients / roomSize }, (_, r) => r + 1);
  return groupIntoRooms(users, roomIds, roomSize, secret);
}

/** Deals whole rooms to workers round-robin, so no room spans two processes. */
export function sliceRooms(rooms: BenchRoom[], workers: number): BenchRoom[][] {
  const slices: BenchRoom[][] = Array.from({ length: workers }, () => []);
  rooms.forEach((room, i) => slices[i % workers].push(room));
  return slices;
}

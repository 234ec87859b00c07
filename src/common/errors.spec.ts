import { BadRequestException } from '@nestjs/common';
import { ERROR_CODES } from '@chat-backend/protocol';
import { AppError, ErrorCode, isTransactionConflict, isUnavailable, toErrorBody } from './errors';

describe('toErrorBody', () => {
  it('keeps an AppError as it is', () => {
    expect(toErrorBody(AppError.notFound('Chatroom'))).toEqual({
      statusCode: 404,
      code: 'NOT_FOUND',
      message: 'Chatroom not found',
    });
  });

  it('maps framework exceptions by status', () => {
    expect(toErrorBody(new BadRequestException('bad'))).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED' });
  });

  it('answers unreachable Redis or PostgreSQL with 503 UNAVAILABLE', () => {
    expect(toErrorBody(new Error('Connection is closed.'))).toMatchObject({ statusCode: 503, code: 'UNAVAILABLE' });
    expect(toErrorBody(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('answers a transaction PostgreSQL aborted for a deadlock or conflict with 503, not 500', () => {
    const prisma = Object.assign(new Error('Transaction failed due to a write conflict or a deadlock'), {
      code: 'P2034',
    });
    const adapter = Object.assign(new Error('deadlock detected'), { cause: { originalCode: '40P01' } });
    const meta = Object.assign(new Error('x'), { meta: { driverAdapterError: { cause: { originalCode: '40001' } } } });
    for (const err of [prisma, adapter, meta]) {
      expect(isTransactionConflict(err)).toBe(true);
      expect(toErrorBody(err)).toMatchObject({ statusCode: 503, code: 'UNAVAILABLE' });
    }
    expect(isTransactionConflict(Object.assign(new Error('x'), { code: '23505' }))).toBe(false);
  });

  it('answers a transaction Prisma could not start in time (pool busy, P2028) with 503, not 500', () => {
    const busy = Object.assign(new Error('Transaction API error: Unable to start a transaction in the given time.'), {
      code: 'P2028',
    });
    const noConnection = Object.assign(new Error('Timed out fetching a new connection from the connection pool.'), {
      code: 'P2024',
    });
    for (const err of [busy, noConnection])
      expect(toErrorBody(err)).toMatchObject({ statusCode: 503, code: 'UNAVAILABLE' });
  });

  it('answers PostgreSQL refusing or ending connections (too many, shutting down, the database gone) with 503', () => {
    for (const code of ['53300', '57P02', '3D000', '08006', '08P01']) {
      expect(toErrorBody(Object.assign(new Error('x'), { code }))).toMatchObject({
        statusCode: 503,
        code: 'UNAVAILABLE',
      });
      const adapter = Object.assign(new Error('x'), { cause: { originalCode: code } });
      expect(toErrorBody(adapter)).toMatchObject({ statusCode: 503, code: 'UNAVAILABLE' });
    }
    // A data error is the request's, not the service's.
    expect(isUnavailable(Object.assign(new Error('x'), { code: '22P05' }))).toBe(false);
  });

  it('answers no database connection within DATABASE_CONNECT_TIMEOUT_MS with 503 (pg-pool, node-postgres)', () => {
    // The pool full and no connection freed in time; a new connection not opened in time.
    for (const message of [
      'timeout exceeded when trying to connect',
      'Connection terminated due to connection timeout',
    ])
      expect(toErrorBody(new Error(message))).toMatchObject({ statusCode: 503, code: 'UNAVAILABLE' });
  });

  it('answers a row that vanished under a racing request (Prisma P2025) with 404', () => {
    const err = Object.assign(new Error('No record was found for a delete.'), { code: 'P2025' });
    expect(toErrorBody(err)).toEqual({ statusCode: 404, code: 'NOT_FOUND', message: 'Not found' });
  });

  it('answers a value too long for its varchar column (Prisma P2000, SQL 22001) with 400, not 500', () => {
    // As Prisma 7's pg adapter reports it: PostgreSQL does not say which column.
    const adapter = Object.assign(new Error('The provided value for the column is too long'), {
      code: 'P2000',
      meta: {
        modelName: 'User',
        driverAdapterError: { cause: { originalCode: '22001', kind: 'LengthMismatch' } },
      },
    });
    const sql = Object.assign(new Error('value too long for type character varying(64)'), { code: '22001' });
    for (const err of [adapter, sql]) {
      expect(toErrorBody(err)).toEqual({
        statusCode: 400,
        code: 'VALIDATION_FAILED',
        message: 'A value is longer than its field allows',
      });
    }
    for (const column_name of ['nick_name', 'users.nick_name']) {
      expect(toErrorBody(Object.assign(new Error('x'), { code: 'P2000', meta: { column_name } }))).toEqual({
        statusCode: 400,
        code: 'VALIDATION_FAILED',
        message: 'Invalid fields: nickName',
        details: [{ field: 'nickName', errors: ['nickName is longer than the field allows'] }],
      });
    }
    const unnamed = Object.assign(new Error('x'), { code: 'P2000', meta: { column_name: '(not available)' } });
    expect(toErrorBody(unnamed)).not.toHaveProperty('details.0');
  });

  it('never leaks an unexpected error', () => {
    const body = toErrorBody(new Error('relation "users" does not exist at SELECT * FROM users'));
    expect(body).toEqual({ statusCode: 500, code: 'INTERNAL', message: 'Internal server error' });
  });
});

describe('ErrorCode', () => {
  it('names every code of the contract (the protocol package), and no other', () => {
    expect(Object.values(ErrorCode).sort()).toEqual([...ERROR_CODES].sort());
  });
});

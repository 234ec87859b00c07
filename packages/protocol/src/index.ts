export * from './events.js';
export * from './schemas.js';
export * from './rest-schemas.js';
export * from './catalog.js';
export type * from './types.js';

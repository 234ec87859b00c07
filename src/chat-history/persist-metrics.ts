/**
 * What the persistence worker counts. A token apart from MetricsService so that the
 * persistence thread counts without loading prom-client: there, each count is posted to the
 * main thread (persist-thread.main.ts), whose MetricsService observes it; one scrape of the
 * server covers its thread too. Elsewhere MetricsService is this.
 */
export abstract class PersistMetrics {
  /** One persistence job stored: its size, the INSERT's duration, the rows it inserted. */
  abstract batchStored(size: number, seconds: number, inserted: number): void;
  /** Messages set aside because they cannot be stored. */
  abstract deadLettered(n: number): void;
}

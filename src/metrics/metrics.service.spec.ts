import { MetricsService } from './metrics.service';

describe('MetricsService.scrape', () => {
  it('renders once for scrapes that arrive while one renders, and afresh after', async () => {
    const metrics = new MetricsService();
    const render = jest.spyOn(metrics.registry, 'metrics');
    const [a, b, c] = await Promise.all([metrics.scrape(), metrics.scrape(), metrics.scrape()]);
    expect(render).toHaveBeenCalledTimes(1);
    expect(a).toContain('chat_sockets_connected');
    expect(b).toBe(a);
    expect(c).toBe(a);
    await metrics.scrape();
    expect(render).toHaveBeenCalledTimes(2);
  });

  it('lets the next scrape try again after a rendering failed', async () => {
    const metrics = new MetricsService();
    jest.spyOn(metrics.registry, 'metrics').mockRejectedValueOnce(new Error('collect failed'));
    await expect(metrics.scrape()).rejects.toThrow('collect failed');
    await expect(metrics.scrape()).resolves.toContain('chat_sockets_connected');
  });
});

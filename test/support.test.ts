/** The test kit's own promises: a port taken between finding and binding it means a new port, not a failure. */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { isAddressInUse, startMosquitto, withFreePort } from './support/mosquitto.js';

describe('test support: free ports', () => {
  it('withFreePort starts again with new ports when the first ones were taken meanwhile (EADDRINUSE)', async () => {
    const tried: number[][] = [];
    const result = await withFreePort(2, async (ports) => {
      tried.push(ports);
      if (tried.length === 1) throw new Error(`listen EADDRINUSE: address already in use 127.0.0.1:${ports[0]}`);
      return 'started';
    });
    expect(result).toBe('started');
    expect(tried).toHaveLength(2);
    expect(tried.every((ports) => ports.length === 2 && ports[0] !== ports[1])).toBe(true);
  });

  it('withFreePort does not retry other failures', async () => {
    let attempts = 0;
    await expect(withFreePort(1, async () => { attempts++; throw new Error('bad config'); })).rejects.toThrow('bad config');
    expect(attempts).toBe(1);
  });

  it('a Mosquitto whose port is taken exits with the error isAddressInUse recognises', async () => {
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', () => resolve()));
    const taken = (squatter.address() as { port: number }).port;
    try {
      const err = await startMosquitto({ listenerLines: () => [`listener ${taken} 127.0.0.1`] }).then(
        async (broker) => { await broker.stop(); return undefined; },
        (e: unknown) => e,
      );
      // The extra listener on the taken port makes every attempt fail the same way, so the error surfaces.
      expect(isAddressInUse(err)).toBe(true);
    } finally {
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
    }
  });
});

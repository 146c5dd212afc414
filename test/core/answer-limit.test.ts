/** The per-sender limit on DISCONNECTs to unmapped senders (§5.4.21): one a second, bounded memory. */
import { describe, expect, it } from 'vitest';
import { AnswerLimit } from '../../gateway/core/answer-limit.js';

describe('AnswerLimit', () => {
  it('§5.4.21 answers a sender once, then again only when the interval has passed', () => {
    const limit = new AnswerLimit(1000, 10);
    expect(limit.allow('a', 0)).toBe(true);
    expect(limit.allow('a', 999)).toBe(false);
    expect(limit.allow('b', 999)).toBe(true);
    expect(limit.allow('a', 1000)).toBe(true);
  });

  it('§5.4.21 remembers at most maxKeys senders: old ones are forgotten to make room', () => {
    const limit = new AnswerLimit(1000, 3);
    for (let i = 0; i < 3; i++) expect(limit.allow(`k${i}`, 0)).toBe(true);
    expect(limit.allow('k3', 1000)).toBe(true);
    expect(limit.size).toBeLessThanOrEqual(3);
    for (let i = 0; i < 1000; i++) limit.allow(`spoofed${i}`, 5000 + i * 1000);
    expect(limit.size).toBeLessThanOrEqual(3);
  });

  it('§5.4.21 with maxKeys distinct senders inside one interval, a new sender gets no answer (a flood)', () => {
    const limit = new AnswerLimit(1000, 3);
    for (let i = 0; i < 3; i++) expect(limit.allow(`k${i}`, 0)).toBe(true);
    expect(limit.allow('k3', 500)).toBe(false);
    expect(limit.size).toBe(3);
  });
});

/**
 * The status page in a real browser (headless Chromium): a sensor connecting over UDP appears in the
 * table and its state turns to `asleep` without a reload; the table sorts and filters by state.
 * SCREENSHOT_DIR=path keeps screenshots (desktop and phone) to look at.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, gatewaySuite } from '../support/harness.js';
import { subscribe } from '../support/flows.js';
import { launchChromium, type Browser } from '../support/browser.js';
import { httpUrl } from '../support/http.js';

const screenshots = process.env.SCREENSHOT_DIR;

async function shoot(page: Page, name: string): Promise<void> {
  if (!screenshots) return;
  mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
}

describe('33 status page in headless Chromium', { timeout: 40_000 }, () => {
  const t = gatewaySuite('mosquitto', { configure: (config) => { config.http = { host: '127.0.0.1', port: 0 }; } });
  let browser: Browser;
  let page: Page;
  let loads = 0;
  beforeAll(async () => {
    browser = await launchChromium();
    page = await browser.context.newPage();
    page.on('load', () => { loads++; });
    await page.goto(`${httpUrl(t.gw)}/`);
    await page.locator('#live', { hasText: 'live' }).waitFor({ timeout: 10_000 });
  });
  afterAll(async () => {
    await browser?.close();
  });

  const stateOf = (clientId: string) => page.locator(`tr[data-client-id="${clientId}"] .state`);

  it('§6.14 a sensor connecting over UDP appears as active, then turns asleep without a reload', async () => {
    const s = await t.gw.sensor();
    await connect(s, 'browser-sensor', { duration: 120 });
    await subscribe(s, 'browser/led', 1);
    await stateOf('browser-sensor').filter({ hasText: 'active' }).waitFor({ timeout: 10_000 });
    const row = page.locator('tr[data-client-id="browser-sensor"]');
    await expect(row.locator('td[data-label="Radio / address"]').textContent()).resolves.toContain(s.localAddress);
    // A subscription is not a state change: it shows with the next periodic snapshot (every 5 s).
    await row.locator('td[data-label="Subscriptions"]', { hasText: 'browser/led (QoS 1)' }).waitFor({ timeout: 10_000 });
    s.send({ type: 'DISCONNECT', duration: 300 });
    await s.expect('DISCONNECT');
    await stateOf('browser-sensor').filter({ hasText: 'asleep' }).waitFor({ timeout: 10_000 });
    expect(loads).toBe(1);
    await shoot(page, 'desktop');
  });

  it('the broker link and the UDP radio are shown up, with frames counted', async () => {
    await expect(page.locator('#broker').textContent()).resolves.toBe('broker up');
    const radio = page.locator('li[data-radio="udp0"]');
    await expect(radio.getAttribute('class')).resolves.toBe('radio up');
    // The browser-sensor's CONNECT, SUBSCRIBE and DISCONNECT came in on udp0.
    await expect(radio.locator('.frames').textContent()).resolves.toMatch(/^[1-9][\d,]* in · [1-9][\d,]* out$/);
  });

  const shownIds = () => page.locator('#clients tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-client-id')));

  it('filtering by state shows only sensors in that state', async () => {
    const awake = await t.gw.sensor();
    const sleeper = await t.gw.sensor();
    await connect(awake, 'filter-awake');
    await connect(sleeper, 'filter-sleeper');
    sleeper.send({ type: 'DISCONNECT', duration: 300 });
    await sleeper.expect('DISCONNECT');
    await stateOf('filter-sleeper').filter({ hasText: 'asleep' }).waitFor({ timeout: 10_000 });
    await stateOf('filter-awake').filter({ hasText: 'active' }).waitFor({ timeout: 10_000 });
    await page.locator('.chip[data-state="asleep"]').click();
    await page.locator('tr[data-client-id="filter-awake"]').waitFor({ state: 'detached', timeout: 10_000 });
    const states = await page.locator('#clients tbody .state').allTextContents();
    expect(states.length).toBeGreaterThan(0);
    expect(new Set(states)).toEqual(new Set(['asleep']));
    expect(await shownIds()).toContain('filter-sleeper');
    await page.locator('.chip[data-state="all"]').click();
    await page.locator('tr[data-client-id="filter-awake"]').waitFor({ timeout: 10_000 });
  });

  it('clicking a column header sorts by it, and clicking again reverses', async () => {
    for (const id of ['sort-b', 'sort-a', 'sort-c']) await connect(await t.gw.sensor(), id);
    await page.locator('#search').fill('sort-');
    await stateOf('sort-c').waitFor({ timeout: 10_000 });
    await expect(shownIds()).resolves.toEqual(['sort-a', 'sort-b', 'sort-c']);
    await page.locator('th[data-key="clientId"] button').click();
    await expect(shownIds()).resolves.toEqual(['sort-c', 'sort-b', 'sort-a']);
    await expect(page.locator('th[data-key="clientId"]').getAttribute('aria-sort')).resolves.toBe('descending');
    await page.locator('th[data-key="clientId"] button').click();
    await page.locator('#search').fill('');
  });

  it('on a phone-sized screen each sensor is a card that fits the width', async () => {
    await page.locator('#search').fill('');
    const s = await t.gw.sensor();
    await connect(s, 'phone-sensor');
    await stateOf('phone-sensor').waitFor({ timeout: 10_000 });
    await page.setViewportSize({ width: 390, height: 844 });
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(390);
    await expect(page.locator('tr[data-client-id="phone-sensor"]').evaluate((r) => getComputedStyle(r).display)).resolves.toBe('grid');
    await shoot(page, 'phone');
  });
});

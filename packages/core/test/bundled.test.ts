// Which file a worker imports for a step module: its bundle twin only when the bundle is newer than every
// compiled package it contains (steps/bundled.ts).
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runnableModule } from '../src/steps/bundled.js';

let root: string;
const at = (rel: string) => path.join(root, rel);
function file(rel: string, ageS: number, text = ''): void {
  mkdirSync(path.dirname(at(rel)), { recursive: true });
  writeFileSync(at(rel), text);
  const t = Date.now() / 1000 - ageS;
  utimesSync(at(rel), t, t);
}

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'pipe-bundled-'));
  file('astro/dist/steps/excess-map.js', 100);
  file('astro/dist/.tsbuildinfo', 100);
  file('kernels/dist/.tsbuildinfo', 100);
  file('astro/dist/bundle/steps/excess-map.js', 10);
  file('astro/dist/bundle/bundled-packages.json', 10, JSON.stringify({ dist: ['../../../kernels/dist'] }));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('runnableModule', () => {
  const step = () => runnableModule(at('astro/dist/steps/excess-map.js'));

  it('runs the bundle twin when it is newer than its package and every package bundled with it', () => {
    expect(step()).toBe(at('astro/dist/bundle/steps/excess-map.js'));
  });

  it("runs the compiled module once the package's own compile is newer", () => {
    file('astro/dist/.tsbuildinfo', 1);
    expect(step()).toBe(at('astro/dist/steps/excess-map.js'));
  });

  it('runs the compiled module once a bundled package was compiled again (stale kernels inside the bundle)', () => {
    file('kernels/dist/.tsbuildinfo', 1);
    expect(step()).toBe(at('astro/dist/steps/excess-map.js'));
  });

  it('does not trust a bundle whose list is damaged or names a package that is not compiled', () => {
    file('astro/dist/bundle/bundled-packages.json', 10, '{"dist": [');
    expect(step()).toBe(at('astro/dist/steps/excess-map.js'));
    file('astro/dist/bundle/bundled-packages.json', 10, JSON.stringify({ dist: ['../../../gone/dist'] }));
    expect(step()).toBe(at('astro/dist/steps/excess-map.js'));
  });

  it('a bundle without a list holds its own package alone', () => {
    rmSync(at('astro/dist/bundle/bundled-packages.json'));
    file('kernels/dist/.tsbuildinfo', 1);
    expect(step()).toBe(at('astro/dist/bundle/steps/excess-map.js'));
  });
});

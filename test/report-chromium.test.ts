/**
 * Opt-in (issue #19): a report as a person sees it, in headless Chromium. Runs only where Debian's `chromium` is
 * installed (`apt-get install chromium`; or MTL_CHROMIUM=/path/to/chrome), else skipped. It opens a report of a real
 * run with a gradient strategy, checks the page logs nothing to the console and loads nothing, that every figure
 * has a non-zero size as laid out, and saves a screenshot (its path is printed).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { mtl } from './helpers/cli.js';
import { groupConfig } from './helpers/groups.js';
import { tempDir, writeFile } from './helpers.js';

const CHROMIUM = process.env['MTL_CHROMIUM'] ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find(existsSync);
const HEADLESS = ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--no-first-run'];

function chromium(args: string[]): { stdout: string; stderr: string } {
  const result = spawnSync(CHROMIUM as string, [...HEADLESS, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { stdout: result.stdout, stderr: result.stderr };
}

describe.skipIf(CHROMIUM === undefined)('a report in headless Chromium (opt-in: needs chromium)', () => {
  it('has no console messages, figures of non-zero size, and makes a screenshot', () => {
    const dir = tempDir('mtl-report-chromium-');
    const store = path.join(dir, 'runs');
    const config = writeFile(dir, 'run.yaml', groupConfig({ epochs: 3, extra: 'strategy: { name: pcgrad }' }));
    const trained = mtl(['train', config, '--runs-dir', store, '--json']);
    const id = (JSON.parse(trained.stdout) as { id: string }).id;
    const html = path.join(dir, 'report.html');
    expect(mtl(['report', id, '--runs-dir', store, '-o', html]).code).toBe(0);
    const url = `file://${html}`;

    const logged = chromium(['--enable-logging=stderr', '--v=0', '--dump-dom', url]);
    expect(logged.stdout).toContain('<section id="curves">');
    expect(logged.stderr).not.toMatch(/CONSOLE|Failed to load resource|net::ERR/);

    // A copy of the page with a probe that writes each figure's laid-out size into the DOM, read back.
    const probe = path.join(dir, 'probe.html');
    const script =
      "<script>addEventListener('load',()=>{document.body.dataset.sizes=[...document.querySelectorAll('figure svg')]" +
      ".map((s)=>{const b=s.getBoundingClientRect();return b.width+'x'+b.height}).join(',')})</script>";
    writeFileSync(probe, readFileSync(html, 'utf8').replace('</body>', `${script}</body>`));
    const dom = chromium(['--dump-dom', `file://${probe}`]).stdout;
    const sizes = /data-sizes="([^"]*)"/.exec(dom)?.[1]?.split(',') ?? [];
    expect(sizes.length).toBe(5);
    for (const size of sizes) {
      const [width, height] = size.split('x').map(Number);
      expect(width).toBeGreaterThan(100);
      expect(height).toBeGreaterThan(100);
    }

    const screenshot = path.join(dir, 'report.png');
    chromium(['--window-size=1280,1600', `--screenshot=${screenshot}`, url]);
    expect(statSync(screenshot).size).toBeGreaterThan(10_000);
    console.log(`report screenshot: ${screenshot}`);
  }, 120_000);
});

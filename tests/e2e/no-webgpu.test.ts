// Browsers without WebGPU get an explanation page, never a blank one: Chromium on Linux without
// --enable-unsafe-webgpu (API present, no adapter), and the same page from an insecure origin (no API).

import { afterEach, describe, expect, inject, it } from 'vitest';
import { launchChromium, type TestBrowser } from './browser';
import { openStudio, text } from './studio-page';

describe('studio without WebGPU', () => {
  let browser: TestBrowser | undefined;

  afterEach(async () => {
    await browser?.close();
    browser = undefined;
  });

  it('explains that WebGPU has no adapter when Chromium runs without --enable-unsafe-webgpu', async () => {
    browser = await launchChromium({ webgpu: false });
    const { page, errors } = await browser.newPage();
    const view = await openStudio(page, inject('studioUrl'));

    // The premise: the API is there, the adapter is not.
    const premise = await page.evaluate(async () => ({
      api: 'gpu' in navigator,
      adapter: (await navigator.gpu?.requestAdapter()) != null,
    }));
    expect(premise).toEqual({ api: true, adapter: false });

    expect(view).toBe('no-gpu');
    const notice = page.getByTestId('no-webgpu');
    expect(await notice.getAttribute('data-reason')).toBe('no-adapter');
    const shown = await notice.innerText();
    expect(shown).toContain('WebGPU is available, but no GPU adapter was found');
    for (const hint of ['Chrome or Edge 113+', '--enable-unsafe-webgpu', 'Firefox 141+', 'Safari 26+', 'hardware acceleration']) {
      expect(shown).toContain(hint);
    }
    expect(await text(page, 'no-webgpu-message')).toMatch(/no GPU adapter/i);
    expect(await page.getByTestId('gpu-panel').count()).toBe(0);
    expect(errors).toEqual([]);
  });

  it('explains that the WebGPU API is missing on a page that is not a secure context', async () => {
    const host = inject('insecureHost');
    browser = await launchChromium({ webgpu: true, extraArgs: [`--host-resolver-rules=MAP ${host} 127.0.0.1`] });
    const { page, errors } = await browser.newPage();
    const url = new URL(inject('studioUrl'));
    url.hostname = host;
    const view = await openStudio(page, url.href);

    expect(await page.evaluate(() => ({ secure: isSecureContext, api: 'gpu' in navigator }))).toEqual({
      secure: false,
      api: false,
    });
    expect(view).toBe('no-gpu');
    const notice = page.getByTestId('no-webgpu');
    expect(await notice.getAttribute('data-reason')).toBe('no-api');
    const shown = await notice.innerText();
    expect(shown).toContain('This browser does not offer WebGPU');
    expect(shown).toContain('not loaded over https:// or from localhost');
    expect(shown).toContain('Safari 26+');
    expect(errors).toEqual([]);
  });
});

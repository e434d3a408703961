// The bench page's entry: exposes our side and the peer to bench/run.mjs, which calls them one after the
// other through page.evaluate(). Progress lines go to the console with a "[bench] " prefix.

import { runOurs } from '../core/suite';
import type { BenchOptions, OursReport, PeerReport } from '../core/types';
import { runPeer } from './peer-tfjs';

export interface BenchPageApi {
  ours(options: BenchOptions): Promise<OursReport>;
  peer(options: BenchOptions): Promise<PeerReport>;
}

declare global {
  interface Window {
    tunelabBench?: BenchPageApi;
  }
}

const log = (line: string) => console.log(`[bench] ${line}`);

function browserName(): string {
  const m = /(Chrome|Chromium|HeadlessChrome)\/([\d.]+)/.exec(navigator.userAgent);
  return m ? `Chromium ${m[2]} (navigator.gpu)` : `browser (navigator.gpu): ${navigator.userAgent}`;
}

window.tunelabBench = {
  ours: (options) => runOurs(navigator.gpu, options, browserName(), log),
  peer: (options) => runPeer(options, log),
};

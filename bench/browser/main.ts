// The bench page's entry: exposes our side and the peer to the bench driver (bench/cli/browser-runner.ts),
// which calls them one after the other through page.evaluate(). Progress lines go to the console with a
// "[bench] " prefix. stories260K (training, eval, GRPO and decode sections) comes through the offline-model
// route the driver serves (bench/cli/page-server.ts: the shared models folder answering like the Hub), read
// with the studio's own HubSource.

import { HubSource } from '../../src/engine/model/hub-source';
import { runOurs } from '../core/suite';
import type { TrainModelSources } from '../core/train-bench';
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

const HUB_ROUTE = '/__tunelab/hub';

const trainSources: TrainModelSources = {
  stories260K: {
    source: () => new HubSource('stories260K', { endpoint: new URL(HUB_ROUTE, location.href).href }),
    where: `${HUB_ROUTE}/stories260K, the offline model folder`,
  },
};

window.tunelabBench = {
  ours: (options) => runOurs(navigator.gpu, options, browserName(), log, trainSources),
  peer: (options) => runPeer(options, log),
};

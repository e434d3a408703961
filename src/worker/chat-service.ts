// The Chat page's comparison: one prompt through the loaded base model, then through base + a saved adapter,
// each streaming its text. Both passes run as the session's generation, so the page's Stop (stopGeneration)
// stops whichever is running, and a stop during the base pass skips the adapted one.

import { GpuLoraAdapter } from '../engine/train/gpu/gpu-lora';
import { getAdapter } from '../storage/adapters-store';
import { checkAdapterFits } from './adapters-service';
import type { ChatApi } from './protocol-adapters';
import type { GenerationResult } from './protocol';
import { releaseCallback } from './release-callback';
import type { WorkerDeps } from './worker-deps';

const BUSY = 'A training run is generating its samples with the loaded model right now: compare again in a moment.';

/** The adapted pass's result when a stop during the base pass skipped it. */
const skipped = (promptTokens: number): GenerationResult => ({ text: '', promptTokens, newTokens: 0, stopReason: 'aborted', ms: 0 });

export function createChatService(deps: WorkerDeps): ChatApi {
  return {
    async compare(request, adapterId, onBase, onAdapted) {
      try {
        const active = deps.models.active;
        if (!active) throw new Error('No model is loaded: load the adapter’s base model on the Model page first.');
        const record = await getAdapter(await deps.db(), adapterId);
        const { model } = active;
        if (deps.models.active?.model !== model) throw new Error('The model was replaced while the adapter was read: run it again.');
        // A training run generating its samples has its own adapter attached: swapping it would spoil both.
        if (model.adapter) throw new Error(BUSY);
        const lora = GpuLoraAdapter.create(model.ctx, checkAdapterFits(active, record.config, record.weights, record.name), { inferenceOnly: true });
        try {
          const base = await deps.models.generate(request, onBase);
          if (base.stopReason === 'aborted') return { base, adapted: skipped(base.promptTokens) };
          if (deps.models.active?.model !== model) throw new Error('The model was replaced during the comparison: run it again.');
          if (model.adapter) throw new Error(BUSY);
          model.setAdapter(lora);
          const adapted = await deps.models.generate(request, onAdapted);
          return { base, adapted };
        } finally {
          // Detach only our own adapter, from the model it was attached to.
          if (deps.models.active?.model === model && model.adapter === lora) model.setAdapter(null);
          lora.dispose();
        }
      } finally {
        releaseCallback(onBase);
        releaseCallback(onAdapted);
      }
    },
  };
}

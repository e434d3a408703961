// The inverse RoPE frequencies a config asks for (rope_theta, then rope_scaling), computed in float32 the way
// Hugging Face's rope-init functions do, so CPU and GPU rotate by the same angles.

import { ropeInverseFrequencies } from '../ops/cpu/rope';
import type { ModelConfig, RopeScaling } from './config';

function applyScaling(base: Float32Array, s: RopeScaling): Float32Array {
  switch (s.type) {
    case 'default':
      return base;
    case 'linear':
      return base.map((f) => Math.fround(f / s.factor));
    case 'llama3': {
      // Long wavelengths are slowed by `factor`, short ones kept, the band between blended smoothly.
      const lowWavelen = s.originalMaxPositions / s.lowFreqFactor;
      const highWavelen = s.originalMaxPositions / s.highFreqFactor;
      return base.map((f) => {
        const wavelen = (2 * Math.PI) / f;
        if (wavelen < highWavelen) return f;
        if (wavelen > lowWavelen) return Math.fround(f / s.factor);
        const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
        return Math.fround((1 - smooth) * (f / s.factor) + smooth * f);
      });
    }
  }
}

/** (D / 2) f32 inverse frequencies for a RoPE model. */
export function modelRopeFrequencies(config: ModelConfig): Float32Array {
  return applyScaling(ropeInverseFrequencies(config.headDim, config.ropeTheta), config.ropeScaling);
}

// What the studio, the CLI and the benchmarks report about an adapter.

export interface GpuFeatureSummary {
  shaderF16: boolean;
  subgroups: boolean;
  timestampQuery: boolean;
}

export interface GpuLimitSummary {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  maxComputeWorkgroupStorageSize: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupsPerDimension: number;
  maxStorageBuffersPerShaderStage: number;
}

export interface GpuAdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
  features: GpuFeatureSummary;
  limits: GpuLimitSummary;
}

export const LIMIT_NAMES: (keyof GpuLimitSummary)[] = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
];

export function summarizeFeatures(features: ReadonlySet<string>): GpuFeatureSummary {
  return {
    shaderF16: features.has('shader-f16'),
    subgroups: features.has('subgroups'),
    timestampQuery: features.has('timestamp-query'),
  };
}

export function summarizeLimits(limits: GPUSupportedLimits): GpuLimitSummary {
  const out = {} as GpuLimitSummary;
  for (const name of LIMIT_NAMES) out[name] = limits[name];
  return out;
}

export function summarizeAdapter(adapter: GPUAdapter): GpuAdapterSummary {
  const info = adapter.info;
  // isFallbackAdapter moved from GPUAdapter to GPUAdapterInfo; read either.
  const legacy = (adapter as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter;
  const fromInfo = (info as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter;
  return {
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    device: info?.device ?? '',
    description: info?.description ?? '',
    isFallbackAdapter: Boolean(fromInfo ?? legacy ?? false),
    features: summarizeFeatures(adapter.features as ReadonlySet<string>),
    limits: summarizeLimits(adapter.limits),
  };
}

const softwareVerdicts = new WeakMap<GpuAdapterSummary, boolean>();

/**
 * CPU emulations (SwiftShader, llvmpipe/lavapipe, any fallback adapter): workgroup barriers and workgroup
 * memory are slow there, so kernels with a register-only variant pick it on these adapters.
 */
export function isSoftwareAdapter(adapter: GpuAdapterSummary): boolean {
  // Asked on every dispatch that has a software variant: decided once per adapter.
  let verdict = softwareVerdicts.get(adapter);
  if (verdict === undefined) {
    const names = `${adapter.architecture} ${adapter.description} ${adapter.device}`;
    verdict = adapter.isFallbackAdapter || /swiftshader|llvmpipe|lavapipe/i.test(names);
    softwareVerdicts.set(adapter, verdict);
  }
  return verdict;
}

import { GpuValidationError } from './errors';
import { sourceLocation, type BindingKind, type KernelConstants, type KernelDef } from './kernel';

export interface CachedPipeline {
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
}

function bindingType(kind: BindingKind): GPUBufferBindingType {
  return kind === 'read' ? 'read-only-storage' : kind === 'write' ? 'storage' : 'uniform';
}

export function pipelineKey(def: KernelDef, constants: KernelConstants): string {
  // Looked up once per dispatch: a plain loop, no intermediate arrays beyond the sorted names.
  const names = Object.keys(constants).sort();
  let key = `${def.name}#${def.entryPoint}{`;
  for (const name of names) key += `${name}=${constants[name]},`;
  return `${key}}`;
}

/** Compiles each (kernel, constants) once; explicit layouts so unused bindings are never dropped. */
export class PipelineCache {
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly ready = new Map<string, CachedPipeline>();
  private readonly pending = new Map<string, Promise<CachedPipeline>>();
  /**
   * Hits by constants object: dispatchers that reuse one constants object per variant (the matmul's are
   * interned) skip building the key string on every dispatch.
   */
  private readonly byObject = new WeakMap<KernelDef, WeakMap<KernelConstants, CachedPipeline>>();

  constructor(private readonly device: GPUDevice) {}

  get size(): number {
    return this.ready.size;
  }

  /** Synchronous hit, or undefined when the pipeline still has to be compiled. */
  peek(def: KernelDef, constants: KernelConstants): CachedPipeline | undefined {
    let known = this.byObject.get(def);
    const fast = known?.get(constants);
    if (fast) return fast;
    const hit = this.ready.get(pipelineKey(def, constants));
    if (hit) {
      if (!known) this.byObject.set(def, (known = new WeakMap()));
      known.set(constants, hit);
    }
    return hit;
  }

  get(def: KernelDef, constants: KernelConstants): Promise<CachedPipeline> {
    const key = pipelineKey(def, constants);
    const hit = this.ready.get(key);
    if (hit) return Promise.resolve(hit);
    let p = this.pending.get(key);
    if (!p) {
      p = this.compile(def, constants, key).finally(() => this.pending.delete(key));
      this.pending.set(key, p);
    }
    return p;
  }

  private module(def: KernelDef): GPUShaderModule {
    let m = this.modules.get(def.name);
    if (!m) {
      m = this.device.createShaderModule({ label: def.name, code: def.source });
      this.modules.set(def.name, m);
    }
    return m;
  }

  private async compile(def: KernelDef, constants: KernelConstants, key: string): Promise<CachedPipeline> {
    this.device.pushErrorScope('validation');
    const module = this.module(def);
    const layout = this.device.createBindGroupLayout({
      label: def.name,
      entries: def.bindings.map((kind, binding) => ({
        binding,
        visibility: GPUShaderStage.COMPUTE,
        // Parameter blocks sit at a dynamic offset of the step's uniform arena (uniform-arena.ts).
        buffer: { type: bindingType(kind), hasDynamicOffset: kind === 'uniform' },
      })),
    });
    // Synchronous creation inside an error scope: dawn.node aborts the process on some
    // createComputePipelineAsync paths, and the engine always runs off the main thread anyway.
    const pipeline = this.device.createComputePipeline({
      label: key,
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: def.entryPoint, constants: { ...constants } },
    });
    const error = await this.device.popErrorScope();
    if (error) {
      // Forget the module: a later attempt recompiles it, and Chromium never answers a second
      // getCompilationInfo() on an invalid module.
      this.modules.delete(def.name);
      const info = await module.getCompilationInfo();
      const messages = info.messages
        .filter((m) => m.type === 'error')
        .map((m) => `  ${sourceLocation(def, m.lineNum)}:${m.linePos}: ${m.message}`)
        .join('\n');
      throw new GpuValidationError(`Could not build kernel ${key}: ${error.message}${messages ? '\n' + messages : ''}`);
    }
    const entry = { pipeline, layout };
    this.ready.set(key, entry);
    return entry;
  }
}

// What the last step of each length resolved for its i-th dispatch: the pipeline and the bind group. A
// training step records the same dispatches over the same buffers every time (the pool hands temporaries
// back in the same order), so the next step of that length finds dispatch i's pipeline and bind group by
// comparing objects and offsets, where the caches would build a key string per dispatch (on dawn.node
// about a fifth of the CPU a 135M step spends encoding). A mismatch falls back to the caches and rewrites
// the entry; tapes are kept for a few step lengths at once (training, evaluation and generation steps
// interleave).

import type { KernelConstants, KernelDef } from './kernel';
import type { CachedPipeline } from './pipeline-cache';
import type { Binding } from './step-encoder';

interface TapeEntry {
  def: KernelDef;
  constants: KernelConstants;
  pipeline: CachedPipeline;
  /** Set once the dispatch was encoded: the bind group and what it binds. */
  group?: GPUBindGroup;
  bindings?: readonly Binding[];
  uniforms?: GPUBuffer;
  paramsSize?: number;
}

/** Step lengths whose tapes are kept (least recently used dropped first). */
const MAX_TAPES = 8;

function sameConstants(a: KernelConstants, b: KernelConstants): boolean {
  if (a === b) return true;
  let count = 0;
  for (const name in a) {
    if (a[name] !== b[name]) return false;
    count++;
  }
  for (const _ in b) count--;
  return count === 0;
}

function sameBinding(a: Binding, b: Binding): boolean {
  if (a === b) return true;
  if (!('buffer' in a) || !('buffer' in b)) return false;
  return a.buffer === b.buffer && (a.offset ?? 0) === (b.offset ?? 0) && a.size === b.size;
}

function sameBindings(a: readonly Binding[], b: readonly Binding[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!sameBinding(a[i], b[i])) return false;
  return true;
}

/** One step length's entries, dispatch by dispatch. */
export class DispatchTape {
  private readonly entries: (TapeEntry | undefined)[] = [];

  /** Dispatch i's pipeline if the tape has it for this kernel and these constants. */
  pipeline(i: number, def: KernelDef, constants: KernelConstants): CachedPipeline | undefined {
    const e = this.entries[i];
    return e && e.def === def && sameConstants(e.constants, constants) ? e.pipeline : undefined;
  }

  /** Records dispatch i's pipeline (a new kernel or constants: the bind group is resolved again too). */
  setPipeline(i: number, def: KernelDef, constants: KernelConstants, pipeline: CachedPipeline): void {
    const e = this.entries[i];
    if (e && e.pipeline === pipeline) return;
    this.entries[i] = { def, constants, pipeline };
  }

  /** Dispatch i's bind group if it binds the same ranges, uniform arena and parameter size as last time. */
  group(i: number, bindings: readonly Binding[], uniforms: GPUBuffer | undefined, paramsSize: number): GPUBindGroup | undefined {
    const e = this.entries[i];
    if (!e?.group || e.uniforms !== uniforms || e.paramsSize !== paramsSize || !sameBindings(e.bindings!, bindings)) return undefined;
    return e.group;
  }

  setGroup(i: number, group: GPUBindGroup, bindings: readonly Binding[], uniforms: GPUBuffer | undefined, paramsSize: number): void {
    const e = this.entries[i];
    if (!e) return;
    e.group = group;
    e.bindings = bindings;
    e.uniforms = uniforms;
    e.paramsSize = paramsSize;
  }
}

/** The tapes of the last few step lengths. */
export class DispatchTapes {
  private readonly tapes = new Map<number, DispatchTape>();

  /** The tape for steps of `dispatches` dispatches (made empty on first use). */
  forLength(dispatches: number): DispatchTape {
    let tape = this.tapes.get(dispatches);
    if (tape) {
      this.tapes.delete(dispatches); // re-inserted last: the map's order is the use order
    } else {
      tape = new DispatchTape();
      if (this.tapes.size >= MAX_TAPES) this.tapes.delete(this.tapes.keys().next().value!);
    }
    this.tapes.set(dispatches, tape);
    return tape;
  }

  /** Forgets everything (the buffers the tapes name may be destroyed). */
  clear(): void {
    this.tapes.clear();
  }
}

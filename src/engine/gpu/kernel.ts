// A kernel is one WGSL entry point with an explicit bind-group layout.
//
// Conventions every shader in shaders/ follows:
// - all resources live in @group(0), bindings numbered 0..n-1 in the order of `bindings`;
// - the parameter block (if any) is a uniform struct of 4-byte scalars (u32/i32/f32), packed with `packParams`;
// - tunables (workgroup size, tile sizes, flags) are WGSL `override` constants, so a variant is
//   (kernel, constants) and the pipeline cache keys on exactly that;
// - 1-D grids larger than 65535 workgroups are folded into (x, y) by `grid1d`; the shader recovers the
//   linear workgroup index as `wid.x + wid.y * nwg.x`.

export type BindingKind = 'read' | 'write' | 'uniform';

/** One file of a kernel's WGSL, named so compile errors can point into it. */
export interface WgslPart {
  readonly file: string;
  readonly source: string;
}

/** WGSL joined from several files (WGSL has no includes), with where each file starts. */
export interface JoinedWgsl {
  readonly source: string;
  readonly parts: readonly { file: string; firstLine: number; lines: number }[];
}

export interface KernelDef {
  /** Unique, human-readable; appears in error messages and the pipeline cache key. */
  readonly name: string;
  readonly source: string;
  /** Present when the source was joined from several files. */
  readonly parts?: JoinedWgsl['parts'];
  readonly entryPoint: string;
  readonly bindings: readonly BindingKind[];
}

export type KernelConstants = Readonly<Record<string, number>>;

export function defineKernel(
  name: string,
  source: string | JoinedWgsl,
  entryPoint: string,
  bindings: readonly BindingKind[],
): KernelDef {
  if (typeof source === 'string') return { name, source, entryPoint, bindings };
  return { name, source: source.source, parts: source.parts, entryPoint, bindings };
}

/** Joins WGSL files in order (shared parts first), remembering each file's line range. */
export function joinWgsl(...files: WgslPart[]): JoinedWgsl {
  const parts: { file: string; firstLine: number; lines: number }[] = [];
  let line = 1;
  for (const f of files) {
    const lines = f.source.split('\n').length;
    parts.push({ file: f.file, firstLine: line, lines });
    line += lines;
  }
  return { source: files.map((f) => f.source).join('\n'), parts };
}

/** "file.wgsl:line" for a line of the kernel's (possibly joined) source, as a compile error reports it. */
export function sourceLocation(def: KernelDef, line: number): string {
  const part = def.parts?.find((p) => line >= p.firstLine && line < p.firstLine + p.lines);
  return part ? `${part.file}:${line - part.firstLine + 1}` : `${def.name}.wgsl:${line}`;
}

export type ParamField = readonly ['u32' | 'i32' | 'f32', number];

/** Packs scalar fields in order, as WGSL lays out a struct of 4-byte scalars. */
export function packParams(fields: readonly ParamField[]): ArrayBuffer {
  const bytes = Math.max(16, Math.ceil((fields.length * 4) / 16) * 16);
  const buf = new ArrayBuffer(bytes);
  const view = new DataView(buf);
  fields.forEach(([type, value], i) => {
    if (type === 'f32') view.setFloat32(i * 4, value, true);
    else if (type === 'i32') view.setInt32(i * 4, value, true);
    else {
      if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
        throw new RangeError(`parameter ${i} must be a u32, got ${value}`);
      }
      view.setUint32(i * 4, value, true);
    }
  });
  return buf;
}

export const MAX_WORKGROUPS_PER_DIM = 65535;

/** Workgroup grid for `count` workgroups in a 1-D problem, folded into 2-D when needed. */
export function grid1d(count: number, maxPerDim = MAX_WORKGROUPS_PER_DIM): [number, number, number] {
  if (count <= maxPerDim) return [Math.max(1, count), 1, 1];
  const y = Math.ceil(count / maxPerDim);
  return [Math.ceil(count / y), y, 1];
}

export function ceilDiv(a: number, b: number): number {
  return Math.floor((a + b - 1) / b);
}

// rank_pattern and alpha_pattern: PEFT gives each targeted module its own rank r_m and alpha_m
// (peft/tuners/lora/model.py _create_and_replace: r = rank_pattern.get(key, r), alpha likewise, key being the
// first pattern key, in dict order, that matches the module's full name: peft/utils/other.py get_pattern_key),
// hence its own scale s_m = alpha_m / r_m, or alpha_m / sqrt(r_m) with rsLoRA (peft/tuners/lora/layer.py).
//
// Tunelab's LoraAdapter has one rank and one scale (the GPU path, training and checkpoints rely on it), so an
// imported adapter runs as an exactly equal uniform one: rank R = max r_m, scale s from (R, lora_alpha,
// use_rslora), and per module
//   A' (R, in)  = A_m (r_m, in) with rows r_m..R-1 zero
//   B' (out, R) = B_m (out, r_m) * s_m / s with columns r_m..R-1 zero
// so that s B' A' = s_m B_m A_m. The padded rows and columns get exactly zero gradient (dL/dA'[k, :] is a
// multiple of B'[:, k], dL/dB'[:, k] of A'[k, :] x), so they stay zero if the adapter is trained further; that
// training runs every module at the uniform scale s, where PEFT would run each at its own.

import { loraScale } from './lora-config';
import type { PatternEntry, PeftLoraConfig } from './peft-config';

/** PEFT's match of a pattern key against a module's full name: re.match(rf"(.*\.)?({key})$", name). */
export function patternRegex(key: string): RegExp {
  return new RegExp(`^(.*\\.)?(${key})$`);
}

/** The first entry whose key matches `path`, as get_pattern_key picks it. */
export function patternEntry(entries: readonly PatternEntry[], path: string): PatternEntry | undefined {
  return entries.find((e) => patternRegex(e.key).test(path));
}

/** patternEntry for many paths, each key compiled once. */
function patternMatcher(entries: readonly PatternEntry[]): (path: string) => PatternEntry | undefined {
  const compiled = entries.map((e) => ({ entry: e, regex: patternRegex(e.key) }));
  return (path) => compiled.find((c) => c.regex.test(path))?.entry;
}

export interface ModuleRank {
  path: string;
  r: number;
  alpha: number;
  /** s_m */
  scale: number;
  /** The rank_pattern and alpha_pattern entries that gave r and alpha, if any. */
  rankEntry?: PatternEntry;
  alphaEntry?: PatternEntry;
}

/** Each module's (r_m, alpha_m, s_m) by PEFT's rule. */
export function moduleRanks(config: PeftLoraConfig, paths: readonly string[]): ModuleRank[] {
  const rankOf = patternMatcher(config.rankPattern);
  const alphaOf = patternMatcher(config.alphaPattern);
  return paths.map((path) => {
    const rankEntry = rankOf(path);
    const alphaEntry = alphaOf(path);
    const r = rankEntry?.value ?? config.r;
    const alpha = alphaEntry?.value ?? config.alpha;
    return { path, r, alpha, scale: loraScale({ r, alpha, useRslora: config.useRslora }), rankEntry, alphaEntry };
  });
}

/**
 * Writes one module's A_m (r_m, in) and B_m (out, r_m) into the uniform adapter's A' (R, in) and B' (out, R),
 * zero-padded, with B scaled by `factor` = s_m / s (in float64, rounded once to f32).
 */
export function foldModule(target: { a: Float32Array; b: Float32Array }, R: number, a: Float32Array, b: Float32Array, rm: number, factor: number): void {
  target.a.fill(0);
  target.a.set(a);
  const out = b.length / rm;
  target.b.fill(0);
  for (let o = 0; o < out; o++) {
    for (let k = 0; k < rm; k++) target.b[o * R + k] = b[o * rm + k] * factor;
  }
}

/** "2 modules at r=4, 2 at r=8" */
function countsBy(values: readonly number[], label: string): string {
  const counts = new Map<number, number>();
  for (const v of [...values].sort((x, y) => x - y)) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].map(([v, n], i) => `${n}${i === 0 ? (n === 1 ? ' module' : ' modules') : ''} at ${label}=${v}`).join(', ');
}

/** What rank_pattern / alpha_pattern did, one line each, and the keys that matched no targeted module. */
export function patternReport(config: PeftLoraConfig, ranks: readonly ModuleRank[], uniformScale: number): { notes: string[]; warnings: string[] } {
  const notes: string[] = [];
  const warnings: string[] = [];
  const R = Math.max(...ranks.map((m) => m.r));
  if (config.rankPattern.length > 0) {
    const padded = ranks.some((m) => m.r < R);
    notes.push(`rank_pattern: ${countsBy(ranks.map((m) => m.r), 'r')}; run at rank ${R}${padded ? ', smaller ranks zero-padded' : ''}`);
  }
  if (config.alphaPattern.length > 0) notes.push(`alpha_pattern: ${countsBy(ranks.map((m) => m.alpha), 'lora_alpha')}`);
  const scales = [...new Set(ranks.map((m) => m.scale))].sort((x, y) => x - y);
  if (scales.some((s) => s !== uniformScale)) {
    notes.push(`module scales ${scales.map((s) => +s.toPrecision(6)).join(', ')} folded into lora_B against the run's scale ${+uniformScale.toPrecision(6)}`);
  }
  for (const [field, entries, which] of [
    ['rank_pattern', config.rankPattern, 'rankEntry'],
    ['alpha_pattern', config.alphaPattern, 'alphaEntry'],
  ] as const) {
    // Unused when no module matches it, or when an earlier key takes every module it matches.
    const used = new Set(ranks.map((m) => m[which]));
    for (const e of entries) {
      if (!used.has(e)) warnings.push(`adapter_config.json: ${field} key "${e.key}" applies to no targeted module (PEFT ignores it too)`);
    }
  }
  return { notes, warnings };
}

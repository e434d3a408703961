// The model's input: x (N, C) = token embedding rows (+ GPT-2's learned position rows), over tables that
// may be split by rows into parts (each part's lookup writes only the rows whose id it holds).

import type { StepEncoder } from '../../gpu/step-encoder';
import { embedding, type EmbeddingOptions, type PositionEmbedding } from '../../ops/gpu/embedding';
import { residualAdd } from '../../ops/gpu/elementwise';
import type { GpuMatrix } from './gpu-weights';

/** out (rows, C) = table[ids], one lookup per part; `positions` is added in the same pass when given. */
function lookup(step: StepEncoder, out: GPUBuffer, ids: GPUBuffer, table: GpuMatrix, rows: number, positions?: PositionEmbedding): void {
  const split = table.parts.length > 1;
  for (const part of table.parts) {
    const options: EmbeddingOptions = { format: table.format, positions, firstRow: split ? part.firstRow : undefined };
    embedding(step, out, ids, part.weight, { rows, channels: table.cols, vocab: part.rows }, options);
  }
}

/**
 * x (rows, C) = tokens[ids] (+ positionTable[positionIds]). Ids and positions are validated on the CPU.
 * A position table in one buffer is added inside the token lookup; a split one (only with a forced small
 * binding limit: real position tables are a few MB) is looked up like tokens into a temp and added.
 */
export function recordEmbedding(
  step: StepEncoder,
  x: GPUBuffer,
  ids: GPUBuffer,
  tokens: GpuMatrix,
  rows: number,
  positionIds: GPUBuffer,
  positionTable: GpuMatrix | undefined,
): void {
  if (!positionTable) return lookup(step, x, ids, tokens, rows);
  if (positionTable.parts.length === 1) {
    const positions = { table: positionTable.parts[0].weight, count: positionTable.rows, format: positionTable.format, ids: positionIds };
    return lookup(step, x, ids, tokens, rows, positions);
  }
  const C = tokens.cols;
  const tok = step.temp(rows * C * 4, 'token embedding');
  const pos = step.temp(rows * C * 4, 'position embedding');
  lookup(step, tok, ids, tokens, rows);
  lookup(step, pos, positionIds, positionTable, rows);
  residualAdd(step, x, tok, pos, rows * C);
}

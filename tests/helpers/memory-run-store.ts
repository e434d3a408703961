// A studio run's IndexedDB stores in memory (the RunWriter the worker's TrainingRun writes through), with a
// switch that makes a write fail the way a full quota does.

import type { CheckpointRecord, MetricRow, RunRecord } from '../../src/storage/records';
import type { RunWriter } from '../../src/storage/runs-store';

/** The run's IndexedDB stores in memory; `refuse` makes a write fail as a full quota does. */
export class MemoryStore implements RunWriter {
  runs = new Map<string, RunRecord>();
  rows: MetricRow[] = [];
  checkpoints = new Map<string, CheckpointRecord>();
  refuse: (what: 'row' | 'checkpoint' | 'run', step: number) => boolean = () => false;

  private check(what: 'row' | 'checkpoint' | 'run', step: number): void {
    if (this.refuse(what, step)) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
  }

  private change(runId: string, change: (run: RunRecord) => RunRecord): RunRecord {
    const next = change(this.runs.get(runId)!);
    this.runs.set(runId, next);
    return next;
  }

  async appendRow(row: MetricRow, change: (run: RunRecord) => RunRecord) {
    this.check('row', row.step);
    this.rows = this.rows.filter((r) => !(r.kind === row.kind && r.step === row.step && r.runId === row.runId)).concat(row);
    return this.change(row.runId, change);
  }

  async saveCheckpoint(checkpoint: CheckpointRecord, change: (run: RunRecord) => RunRecord) {
    this.check('checkpoint', checkpoint.step);
    this.checkpoints.set(checkpoint.runId, checkpoint);
    return this.change(checkpoint.runId, change);
  }

  async updateRun(runId: string, change: (run: RunRecord) => RunRecord) {
    this.check('run', this.runs.get(runId)!.step);
    return this.change(runId, change);
  }

  stepLosses(runId: string): Map<number, number> {
    return new Map(this.rows.filter((r) => r.runId === runId && r.kind === 'step').map((r) => [r.step, (r as { loss: number }).loss]));
  }
}


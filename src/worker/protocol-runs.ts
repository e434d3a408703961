// The Train page's calls to the worker. A run trains the loaded model on a saved dataset; its metrics and
// checkpoints go to IndexedDB as it goes, so a reload or a lost device leaves it "interrupted", resumable
// from its last checkpoint. Only one tab may own a run (Web Locks).

import type { MetricRow, RunRecord, RunSettings, StoredGrpoSettings, StoredRewardSpec, StoredRollouts } from '../storage/records';

export type RunEvent =
  | { kind: 'metric'; row: MetricRow }
  | { kind: 'status'; run: RunRecord }
  /** Seconds left at the current pace. */
  | { kind: 'eta'; step: number; totalSteps: number; seconds: number }
  /** DPO with precomputed reference log-probabilities: `done` of `total` examples scored before training. */
  | { kind: 'reference'; runId: string; done: number; total: number }
  /** The run completed and its attached eval suites are being compared with the base model. */
  | { kind: 'suites'; runId: string; phase: 'comparing' }
  /** GRPO: the latest generation's scored completions (also kept on the run's record). */
  | { kind: 'rollouts'; runId: string; rollouts: StoredRollouts };

/** "Test on samples": reward functions scored on a few completions before a run. */
export interface RewardTestRequest {
  rewards: StoredRewardSpec[];
  /** Per call of a custom reward, in ms. */
  rewardTimeLimitMs: number;
  /** The samples' prompts and fields are this dataset's first held-out prompts (its first prompts if none is held out). */
  datasetId: string | null;
  /**
   * Completions typed by the user, paired with the dataset's prompts in order (none: empty prompts and no
   * fields). Absent: the loaded model writes one completion per prompt with `sampling`.
   */
  completions?: string[];
  sampling: Pick<StoredGrpoSettings, 'maxCompletionLength' | 'temperature' | 'topP' | 'topK' | 'stopStrings'>;
  /** Prompts the model writes for (1 to 8). */
  count: number;
  seed: number;
}

export interface RewardTestReport {
  names: string[];
  weights: number[];
  /** Texts cut as a run's rollouts are. */
  rows: { prompt: string; completion: string; truncated: boolean; values: number[]; total: number; errors: (string | null)[] }[];
  errorCount: number;
}

export type RunListener = (event: RunEvent) => void;

export interface RunsApi {
  /**
   * Starts a new run on the loaded model; resolves once it is running (events follow). Refused before
   * anything is stored when the method does not fit the dataset, or settings.initAdapter does not fit
   * the model.
   */
  startRun(name: string, settings: RunSettings, listener: RunListener): Promise<RunRecord>;
  /** Pauses after the current step (a checkpoint is written); resumeRun continues it. */
  pauseRun(runId: string): Promise<void>;
  /**
   * Continues a paused or interrupted run from its last checkpoint (loading its model first if another
   * one, or none, is loaded). Rejects if another tab owns the run.
   */
  resumeRun(runId: string, listener: RunListener): Promise<RunRecord>;
  /** Stops for good after the current step (a checkpoint is written). */
  stopRun(runId: string): Promise<void>;
  listRuns(): Promise<RunRecord[]>;
  /** Every stored metric row of a run, in step order. */
  runMetrics(runId: string): Promise<MetricRow[]>;
  renameRun(runId: string, name: string): Promise<void>;
  deleteRun(runId: string): Promise<void>;
  /** Saves the run's adapter at its last checkpoint (or now, if it is running) as an adapter record. */
  saveAdapter(runId: string, name: string): Promise<string>;
  /**
   * Scores a few completions with reward functions as a GRPO run would (custom ones in the sandbox): each
   * function's value or error per completion. Refused, naming the reward, when a spec is unusable.
   */
  testRewards(request: RewardTestRequest): Promise<RewardTestReport>;
}

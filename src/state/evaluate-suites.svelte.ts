// The Evaluate page's suite library: saved suites, and importing one (files read by the worker into a draft
// with its kind and per-line errors; a task suite's generation and metric settings; then saved under a name).

import type { StudioClient } from '../worker/client';
import type { EvalSuiteSummary, SuiteDraft, SuiteImportAs, TaskSuiteSettings } from '../worker/protocol-eval';
import { errorMessage } from './errors';

/** The project's own stories260K suites, served with the studio (public/datasets/stories-setting/). */
export interface SampleSuite {
  id: 'stories-setting-eval' | 'stories-setting-general';
  file: string;
  explanation: string;
}

export const SAMPLE_SUITES: readonly SampleSuite[] = [
  { id: 'stories-setting-eval', file: 'eval.jsonl', explanation: 'Task: 40 held-out settings; adherence is the regex below (the story opens in the prompt’s setting).' },
  { id: 'stories-setting-general', file: 'general.jsonl', explanation: 'Retention: 40 stories the base model wrote, kept aside; their perplexity before and after.' },
];

/** The sample task's adherence: the story opens in the setting the prompt names (README, the sample task). */
export const STORIES_ADHERENCE_REGEX = '^Once upon a time, in (an? [a-z]+ [a-z]+),';

export class TaskSettingsForm {
  maxNewTokens = $state(32);
  /** One stop string per line; "\n" written as \n. */
  stop = $state('');
  exactMatch = $state(false);
  contains = $state(false);
  rougeL = $state(true);
  perplexity = $state(true);
  regex = $state('');
  regexFlags = $state('');
  customName = $state('custom');
  customSource = $state('');
  customTimeoutMs = $state(1000);

  settings(): TaskSuiteSettings {
    const stop = this.stop
      .split('\n')
      .map((s) => s.replaceAll('\\n', '\n'))
      .filter((s) => s !== '');
    return {
      maxNewTokens: this.maxNewTokens,
      stop,
      perplexity: this.perplexity,
      metrics: {
        exactMatch: this.exactMatch,
        contains: this.contains,
        rougeL: this.rougeL,
        ...(this.regex.trim() ? { regex: { pattern: this.regex, flags: this.regexFlags } } : {}),
        ...(this.customSource.trim() ? { customMetric: { name: this.customName.trim() || 'custom', source: this.customSource, timeoutMs: this.customTimeoutMs } } : {}),
      },
    };
  }
}

export class EvalSuitesState {
  suites = $state.raw<EvalSuiteSummary[]>([]);
  loaded = $state(false);
  error = $state<string | null>(null);

  importAs = $state<SuiteImportAs>('auto');
  reading = $state<string | null>(null);
  draft = $state.raw<SuiteDraft | null>(null);
  readError = $state<string | null>(null);
  name = $state('');
  readonly task = new TaskSettingsForm();
  saving = $state(false);
  saveError = $state<string | null>(null);

  private readId = 0;

  constructor(private readonly client: StudioClient) {}

  async refresh(): Promise<void> {
    try {
      this.suites = await this.client.call((api) => api.listSuites());
      this.error = null;
    } catch (err) {
      this.error = `The saved suites could not be read: ${errorMessage(err)}`;
    } finally {
      this.loaded = true;
    }
  }

  readFiles(files: File[]): Promise<void> {
    const as = this.importAs;
    return this.read(files.map((f) => f.name).join(' + '), () => this.client.call((api) => api.readSuite(files, as)));
  }

  /** Fetches one of the project's sample suites served with the studio into a draft. */
  loadSample(sample: SampleSuite): Promise<void> {
    const url = `${import.meta.env.BASE_URL}datasets/stories-setting/${sample.file}`;
    return this.read(url, async () => {
      const response = await fetch(url);
      if (!response.ok) throw new Error(`The sample suite could not be fetched from ${url} (HTTP ${response.status}).`);
      const file = new File([await response.blob()], `${sample.id}.jsonl`);
      return this.client.call((api) => api.readSuite([file], 'auto'));
    }).then(() => {
      if (sample.id === 'stories-setting-eval' && this.draft?.kind === 'task') {
        this.task.regex = STORIES_ADHERENCE_REGEX;
        this.task.stop = '';
      }
    });
  }

  problem(): string | null {
    if (!this.draft) return 'Import a file first.';
    if (!this.name.trim()) return 'Give the suite a name.';
    return null;
  }

  async save(): Promise<void> {
    const draft = this.draft;
    if (!draft || this.saving) return;
    const problem = this.problem();
    if (problem) {
      this.saveError = problem;
      return;
    }
    this.saving = true;
    this.saveError = null;
    try {
      const settings = draft.kind === 'task' ? this.task.settings() : undefined;
      await this.client.call((api) => api.saveSuite(draft.draftId, this.name, settings));
      if (this.draft === draft) this.draft = null;
      await this.refresh();
    } catch (err) {
      this.saveError = errorMessage(err);
    } finally {
      this.saving = false;
    }
  }

  discard(): void {
    this.readId++;
    this.reading = null;
    this.draft = null;
    this.readError = null;
    this.saveError = null;
  }

  async remove(id: string): Promise<void> {
    try {
      await this.client.call((api) => api.deleteSuite(id));
      await this.refresh();
    } catch (err) {
      this.error = errorMessage(err);
    }
  }

  /** A newer read replaces an older one; a failed read leaves no draft and says why. */
  private async read(label: string, read: () => Promise<SuiteDraft>): Promise<void> {
    const readId = ++this.readId;
    this.reading = label;
    this.draft = null;
    this.readError = null;
    this.saveError = null;
    try {
      const draft = await read();
      if (readId !== this.readId) return;
      this.draft = draft;
      this.name = draft.name;
    } catch (err) {
      if (readId === this.readId) this.readError = errorMessage(err);
    } finally {
      if (readId === this.readId) this.reading = null;
    }
  }
}

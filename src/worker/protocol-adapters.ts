// The Chat and Adapters pages' calls to the worker, and the built-in demo.

import type { AdapterRecord } from '../storage/records';
import type { GenerationRequest, GenerationResult, LoadedModelInfo, TokenListener } from './protocol';

export type AdapterSummary = Omit<AdapterRecord, 'weights'> & { bytes: number; modules: number };

/** A saved import, with what the import applied (rank_pattern, alpha_pattern) and what it corrected or ignored. */
export type ImportedAdapter = AdapterSummary & { notes: string[]; warnings: string[] };

/** PEFT files of an adapter, for download (separately or zipped by the page). */
export interface PeftFiles {
  'adapter_config.json': string;
  'adapter_model.safetensors': Uint8Array;
}

export interface AdaptersApi {
  listAdapters(): Promise<AdapterSummary[]>;
  renameAdapter(id: string, name: string): Promise<void>;
  deleteAdapter(id: string): Promise<void>;
  exportAdapter(id: string): Promise<PeftFiles>;
  /** Imports PEFT files (two files, or a .zip holding them); checked against the loaded model. */
  importAdapter(files: File[], name: string): Promise<ImportedAdapter>;
}

export interface ChatApi {
  /**
   * The same prompt through the base model and through base + adapter, one after the other on the loaded
   * model, each streaming its text.
   */
  compare(request: GenerationRequest, adapterId: string, onBase: TokenListener, onAdapted: TokenListener): Promise<{ base: GenerationResult; adapted: GenerationResult }>;
}

export interface DemoApi {
  /** Loads the built-in demo: a tiny randomly initialised model (no network), clearly labelled. */
  loadDemoModel(): Promise<LoadedModelInfo>;
  /** Saves the built-in sample dataset (the project's stories-setting task) if it is not stored yet. */
  ensureDemoDataset(): Promise<string>;
}

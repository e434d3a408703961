// Which model a run trains, kept with the run so a resume after a page reload can load it again: Hub and
// offline-folder models by id, the built-in demo by kind; picked files only by name (the browser cannot
// read them again by itself).

import type { ModelRef } from '../storage/records';
import type { ActiveModel } from './model-session';
import type { ModelRequest } from './protocol';

/** The reference a run stores for the loaded model. */
export function modelRefOf(active: Pick<ActiveModel, 'request' | 'info'>): ModelRef {
  const request = active.request;
  switch (request.kind) {
    case 'hub':
      return { kind: 'hub', id: request.id, revision: request.revision, endpoint: request.endpoint };
    case 'offline':
      return { kind: 'offline', id: request.id };
    case 'files':
      return { kind: 'files', source: active.info.source };
    case 'demo':
      return { kind: 'demo' };
  }
}

/** The model's name as a person (and PEFT's base_model_name_or_path) knows it. */
export function modelName(ref: ModelRef, loadedSource: string): string {
  switch (ref.kind) {
    case 'hub':
    case 'offline':
      return ref.id;
    case 'files':
      return ref.source;
    case 'demo':
      return loadedSource;
  }
}

/** How to load the model again, or null where only the user can (picked files). */
export function requestOf(ref: ModelRef): ModelRequest | null {
  switch (ref.kind) {
    case 'hub':
      return { kind: 'hub', id: ref.id, revision: ref.revision, endpoint: ref.endpoint };
    case 'offline':
      return { kind: 'offline', id: ref.id };
    case 'demo':
      return { kind: 'demo' };
    case 'files':
      return null;
  }
}

/** True when both name the same model (the same repo and revision, or the same picked files by name). */
export function sameModel(a: ModelRef, b: ModelRef): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(ref: ModelRef): unknown[] {
  switch (ref.kind) {
    case 'hub':
      return [ref.kind, ref.id, ref.revision, ref.endpoint.replace(/\/+$/, '')];
    case 'offline':
      return [ref.kind, ref.id];
    case 'files':
      return [ref.kind, ref.source];
    case 'demo':
      return [ref.kind];
  }
}

/** "stories260K (offline folder)", for messages. */
export function describeRef(ref: ModelRef): string {
  switch (ref.kind) {
    case 'hub':
      return ref.revision === 'main' ? ref.id : `${ref.id} @ ${ref.revision}`;
    case 'offline':
      return `${ref.id} (offline folder)`;
    case 'files':
      return ref.source;
    case 'demo':
      return 'the built-in demo model';
  }
}

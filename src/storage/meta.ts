// Typed access to the 'meta' key-value store.

import type { StudioDb } from './db';
import type { MetaValues } from './meta-values';

export async function getMeta<K extends keyof MetaValues>(db: StudioDb, key: K): Promise<MetaValues[K] | undefined> {
  return (await db.get('meta', key)) as MetaValues[K] | undefined;
}

export async function putMeta<K extends keyof MetaValues>(db: StudioDb, key: K, value: MetaValues[K]): Promise<void> {
  await db.put('meta', value, key);
}

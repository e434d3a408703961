// What the 'meta' store holds, key by key.

export interface StorageProbeRecord {
  /** Random per page load, so a reload can tell its own write from the previous load's. */
  token: string;
  writtenAt: string;
}

export interface MetaValues {
  'storage-probe': StorageProbeRecord;
}

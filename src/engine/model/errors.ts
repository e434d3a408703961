// Errors a user can act on: each names the file (and field or tensor) that is wrong.

/** A model folder or download that cannot be used as it is: missing file, bad JSON, wrong tensor, ... */
export class ModelFormatError extends Error {
  override readonly name = 'ModelFormatError';
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}

/** A well-formed config whose architecture or option Tunelab does not implement. */
export class UnsupportedModelError extends Error {
  override readonly name = 'UnsupportedModelError';
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}

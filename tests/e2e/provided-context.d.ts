// Values the e2e global setup hands to the tests through vitest's provide/inject.
import 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The built studio, served by vite preview, e.g. http://127.0.0.1:41234/ */
    studioUrl: string;
    /** A host name the server accepts that is not a secure context once mapped to 127.0.0.1 in Chromium. */
    insecureHost: string;
    /** The offline model folder the preview server serves (../shared/assets/models). */
    modelsDir: string;
  }
}

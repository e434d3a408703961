// Runs one job inside the locked-down sandbox realm. Plain JavaScript, evaluated as source text in that realm
// (see ../sandbox-runtime.ts). The job's code is a function body: `input` (the job's JSON input, parsed),
// `require` (only 'node:assert' / 'assert') and `console` (lines collected for the outcome) are its
// parameters, and what it returns (or the value its returned promise settles to) is the job's value.
// Everything crosses back to the host as one JSON string, so no object of this realm ever reaches the host
// and no host object ever reaches the job.
// A function body fragment: composed with assert.js and lockdown.js.

/** The word `import` outside a member access (`x.import` is fine): import() would reach the network. */
const SANDBOX_IMPORT_PATTERN = /(^|[^.\w$])import(?![\w$])/;
const SANDBOX_MAX_LOG_LINES = 200;
const SANDBOX_MAX_LOG_CHARS = 2000;
const SANDBOX_MAX_ERROR_CHARS = 4000;

/**
 * `CompileFunction`: the real Function constructor, captured before lockdown.js replaces it.
 * `lockdownLeftovers`: blocked-API names the lockdown could not remove; jobs are refused while any remains.
 */
function createJobRunner(CompileFunction, assertModule, lockdownLeftovers) {
  const jsonStringify = JSON.stringify;
  const jsonParse = JSON.parse;
  const StringCtor = String;
  const ReflectApply = Reflect.apply;
  const PromiseResolve = Promise.resolve.bind(Promise);
  const ErrorCtor = Error;
  const { assert, inspect } = assertModule;
  const unsafe = lockdownLeftovers.filter((name) => SANDBOX_BLOCKED_APIS.includes(name));

  function describeError(error) {
    let text;
    try {
      if (error instanceof ErrorCtor || (error !== null && typeof error === 'object' && typeof error.message === 'string')) {
        text = StringCtor(error.name || 'Error') + ': ' + StringCtor(error.message);
      } else {
        text = 'Uncaught ' + inspect(error, 1);
      }
    } catch {
      text = 'Uncaught exception (it could not be described)';
    }
    return text.length > SANDBOX_MAX_ERROR_CHARS ? text.slice(0, SANDBOX_MAX_ERROR_CHARS) + '...' : text;
  }

  function makeConsole(lines) {
    const write = (prefix) =>
      function (...args) {
        if (lines.length >= SANDBOX_MAX_LOG_LINES) return;
        let line = prefix + args.map((a) => inspect(a, 0)).join(' ');
        if (line.length > SANDBOX_MAX_LOG_CHARS) line = line.slice(0, SANDBOX_MAX_LOG_CHARS) + '...';
        lines.push(line);
      };
    return { log: write(''), info: write(''), debug: write(''), warn: write('warn: '), error: write('error: ') };
  }

  function sandboxRequire(name) {
    if (name === 'node:assert' || name === 'assert') return assert;
    throw new ErrorCtor("Cannot find module '" + StringCtor(name) + "': the sandbox provides only 'node:assert'");
  }

  function finish(ok, value, error, logs) {
    const outcome = { ok, logs };
    if (!ok) outcome.error = error;
    else if (value !== undefined) {
      try {
        outcome.valueJson = jsonStringify(value);
      } catch (e) {
        return jsonStringify({ ok: false, error: 'the job returned a value that is not JSON: ' + describeError(e), logs });
      }
    }
    return jsonStringify(outcome);
  }

  /** Returns the outcome as a JSON string, or a promise of it when the job returned a promise. */
  return function runJob(code, inputJson) {
    const logs = [];
    if (unsafe.length > 0) return finish(false, undefined, 'the sandbox could not disable ' + unsafe.join(', ') + ', so it runs nothing', logs);
    if (SANDBOX_IMPORT_PATTERN.test(code)) {
      return finish(false, undefined, 'SandboxError: import is not available in the sandbox (the code contains the word "import")', logs);
    }
    let job;
    try {
      job = new CompileFunction('input', 'require', 'console', code);
    } catch (e) {
      return finish(false, undefined, describeError(e), logs);
    }
    try {
      const input = inputJson === undefined ? undefined : jsonParse(inputJson);
      const value = ReflectApply(job, undefined, [input, sandboxRequire, makeConsole(logs)]);
      if (value !== null && (typeof value === 'object' || typeof value === 'function') && typeof value.then === 'function') {
        return PromiseResolve(value).then(
          (settled) => finish(true, settled, undefined, logs),
          (error) => finish(false, undefined, describeError(error), logs),
        );
      }
      return finish(true, value, undefined, logs);
    } catch (e) {
      return finish(false, undefined, describeError(e), logs);
    }
  };
}

// Where a command writes: stdout carries only the command's result (generated text, JSON), stderr carries
// progress and diagnostics. Tests pass their own sinks.

export interface TextSink {
  write(text: string): unknown;
  /** True when it is a terminal: progress then redraws one line instead of printing many. */
  readonly isTTY?: boolean;
}

export interface CliStreams {
  stdout: TextSink;
  stderr: TextSink;
}

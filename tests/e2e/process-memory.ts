// Resident memory of the Chromium that this test process launched (Linux /proc): the browser process and its
// renderers (a page's dedicated workers run in its renderer). Peaks are measured from a reset: writing 5 to
// /proc/PID/clear_refs sets VmHWM back to the current RSS.

import { readdir, readFile, writeFile } from 'node:fs/promises';

export interface ChromiumProcess {
  pid: number;
  /** 'browser', 'renderer', 'gpu-process', 'utility', 'zygote', ... */
  type: string;
}

async function stat(pid: number): Promise<{ ppid: number } | null> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid ...: comm may hold spaces, so read after its closing parenthesis.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]) };
  } catch {
    return null;
  }
}

/** Every Chromium process descending from this Node process, with its --type (none: the browser process). */
export async function chromiumProcesses(): Promise<ChromiumProcess[]> {
  const pids = (await readdir('/proc')).filter((d) => /^\d+$/.test(d)).map(Number);
  const parent = new Map<number, number>();
  for (const pid of pids) {
    const s = await stat(pid);
    if (s) parent.set(pid, s.ppid);
  }
  const descends = (pid: number): boolean => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) if (p === process.pid) return true;
    return false;
  };
  const out: ChromiumProcess[] = [];
  for (const pid of pids) {
    if (!descends(pid)) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    // Chromium rewrites its children's titles into one space-separated line; the browser keeps NUL separators.
    if (!/^\S*chrom/.test(cmdline)) continue;
    const type = /(?:^|[\s\0])--type=([^\s\0]+)/.exec(cmdline)?.[1] ?? 'browser';
    out.push({ pid, type });
  }
  return out;
}

/** VmRSS and VmHWM in bytes (0 for a process that has gone). */
export async function residentBytes(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** Sets each process's peak back to its current RSS; false when the kernel refused (then peaks are lifetime peaks). */
export async function resetPeaks(pids: readonly number[]): Promise<boolean> {
  try {
    for (const pid of pids) await writeFile(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

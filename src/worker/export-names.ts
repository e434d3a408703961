// File names for downloads: usable on every system ("my run: v2" -> "my-run-v2"); `fallback` when nothing
// of the name is left.

export function fileSafeName(name: string, fallback = 'export'): string {
  return name.trim().replace(/[^\p{L}\p{N}._+-]+/gu, '-').replace(/^-+|-+$/g, '') || fallback;
}

// Byte sizes in messages: binary units for reading, the exact count for checking.

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/** "4 GiB (4294967296 bytes)"; under 1 KiB just "512 bytes". */
export function describeBytes(bytes: number): string {
  const units: [number, string][] = [
    [GiB, 'GiB'],
    [MiB, 'MiB'],
    [KiB, 'KiB'],
  ];
  const [size, unit] = units.find(([u]) => bytes >= u) ?? [1, ''];
  return unit ? `${+(bytes / size).toFixed(2)} ${unit} (${bytes} bytes)` : `${bytes} bytes`;
}

// Hands a file to the browser's download manager (an object URL behind a temporary link).

export function saveFile(fileName: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  link.style.display = 'none';
  document.body.append(link);
  link.click();
  link.remove();
  // The download has started from the URL by now; revoking later frees the blob.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

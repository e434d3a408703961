// Which page of the studio is shown, kept in the URL's hash so a reload or a link opens the same page.

export type StudioPage = 'device' | 'model';

export const STUDIO_PAGES: readonly { page: StudioPage; label: string }[] = [
  { page: 'device', label: 'Device' },
  { page: 'model', label: 'Model' },
];

function pageFromHash(hash: string): StudioPage {
  const name = hash.replace(/^#\/?/, '');
  return STUDIO_PAGES.some((p) => p.page === name) ? (name as StudioPage) : 'device';
}

export class PageState {
  current = $state<StudioPage>(pageFromHash(location.hash));

  constructor() {
    addEventListener('hashchange', () => (this.current = pageFromHash(location.hash)));
  }

  /** The link that opens `page`. */
  href(page: StudioPage): string {
    return `#${page}`;
  }
}

// Which page of the studio is shown, kept in the URL's hash so a reload or a link opens the same page.

export type StudioPage = 'device' | 'model' | 'data' | 'train' | 'chat' | 'adapters' | 'evaluate';

export const STUDIO_PAGES: readonly { page: StudioPage; label: string }[] = [
  { page: 'device', label: 'Device' },
  { page: 'model', label: 'Model' },
  { page: 'data', label: 'Data' },
  { page: 'train', label: 'Train' },
  { page: 'chat', label: 'Chat' },
  { page: 'adapters', label: 'Adapters' },
  { page: 'evaluate', label: 'Evaluate' },
];

function pageFromHash(hash: string): StudioPage {
  const name = hash.replace(/^#\/?/, '');
  // No page named: the Model page, where a new user starts (it offers the offline demo).
  return STUDIO_PAGES.some((p) => p.page === name) ? (name as StudioPage) : 'model';
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

// A value that changes more often than the page should render: its readers subscribe and draw
// what depends on it themselves, instead of the whole page rendering again at each change.

export class Store<T> {
  private listeners = new Set<(v: T) => void>();

  constructor(public value: T) {}

  set(v: T) {
    this.value = v;
    for (const l of this.listeners) l(v);
  }

  /** subscribe calls listener at each change until the function it returns is called. */
  subscribe(listener: (v: T) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/**
 * Bytes that all requests of a process together may hold, taken as they arrive and given back when
 * a request is done. The inference service and the gateway each keep one for uploads held in memory
 * (UPLOAD_MEMORY_BYTES); the gateway keeps a second for bodies retained for failover.
 */
export class ByteBudget {
  private held = 0;

  constructor(readonly capacity: number) {}

  get used(): number {
    return this.held;
  }

  /** Takes `bytes` if they fit; false (and nothing taken) if they do not. */
  take(bytes: number): boolean {
    if (this.held + bytes > this.capacity) return false;
    this.held += bytes;
    return true;
  }

  give(bytes: number): void {
    this.held = Math.max(0, this.held - bytes);
  }
}

/** One request's share of a budget: everything it took is given back by one `release()`. */
export class BudgetShare {
  private taken = 0;

  constructor(private readonly budget: ByteBudget) {}

  take(bytes: number): boolean {
    if (!this.budget.take(bytes)) return false;
    this.taken += bytes;
    return true;
  }

  give(bytes: number): void {
    const amount = Math.min(bytes, this.taken);
    this.taken -= amount;
    this.budget.give(amount);
  }

  release(): void {
    this.budget.give(this.taken);
    this.taken = 0;
  }
}

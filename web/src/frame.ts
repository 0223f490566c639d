// One requestAnimationFrame for all the drawing of the dashboard: the live pushes and the other
// viewers' pointers arrive as messages, many per frame with a few people pointing, and each would
// otherwise redraw at once what the next one redraws again before anything is shown.

/** FrameScheduler runs the jobs asked for at the next animation frame, each key's at most once
 * per frame: a job asked for again before its frame replaces the one waiting. */
export class FrameScheduler {
  private jobs = new Map<object, () => void>();
  private requested = false;

  constructor(private request: (run: () => void) => void = (run) => requestAnimationFrame(run)) {}

  schedule(key: object, job: () => void) {
    this.jobs.set(key, job);
    if (this.requested) return;
    this.requested = true;
    this.request(() => this.run());
  }

  /** cancel forgets the job of key waiting for its frame, as for a view going away. */
  cancel(key: object) {
    this.jobs.delete(key);
  }

  private run() {
    this.requested = false;
    // A job may ask for another frame (a chart made in this one); that one runs next frame.
    const jobs = this.jobs;
    this.jobs = new Map();
    for (const job of jobs.values()) {
      try {
        job();
      } catch (e) {
        // One panel's failure must not keep the others from being drawn.
        console.error("drawing a frame:", e);
      }
    }
  }
}

/** frames is the page's scheduler: every chart and overlay draws through it. */
export const frames = new FrameScheduler();

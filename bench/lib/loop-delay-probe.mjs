// Preloaded into a `fewstep serve` process by bench/fuzz.ts (node --import): measures the
// server's own event-loop delay, and answers over the IPC channel, so the bench never imports
// server code and the figure is the server's, not the client's.
import { monitorEventLoopDelay } from 'node:perf_hooks';

const histogram = monitorEventLoopDelay({ resolution: 5 });
histogram.enable();

process.on('message', (message) => {
  if (message !== 'loop-delay') return;
  process.send?.({ maxMs: histogram.max / 1e6, p99Ms: histogram.percentile(99) / 1e6, meanMs: histogram.mean / 1e6, samples: histogram.count });
  histogram.reset();
});

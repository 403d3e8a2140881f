import cliProgress from 'cli-progress';
import type { RunEvent } from '../../engine/index.ts';

/**
 * The terminal progress bar: one line with the node running and its step. Writes to stderr, so
 * `--json` output on stdout stays clean; silent when stderr is not a terminal.
 */
export function createProgressReporter(classTypes: Record<string, string>) {
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: ' {node} |{bar}| {value}/{total} {unit}',
      hideCursor: true,
      clearOnComplete: false,
      barsize: 30,
    },
    cliProgress.Presets.shades_classic,
  );
  let total = 0;
  let doneCount = 0;
  let started = false;
  const label = (id: string) => `[${doneCount + 1}/${total}] node ${id} ${classTypes[id] ?? ''}`.padEnd(40);
  return {
    onEvent(event: RunEvent) {
      switch (event.type) {
        case 'run_started':
          total = event.nodes.length;
          break;
        case 'node_cached':
          doneCount += event.nodeIds.length;
          break;
        case 'node_started':
          if (!started) bar.start(1, 0, { node: label(event.nodeId), unit: '' });
          else {
            bar.setTotal(1);
            bar.update(0, { node: label(event.nodeId), unit: '' });
          }
          started = true;
          break;
        case 'node_progress':
          bar.setTotal(event.max);
          bar.update(event.value, { node: label(event.nodeId), unit: 'steps' });
          break;
        case 'node_finished':
          // A cached output node showing its result again was counted with node_cached.
          if (event.cached) break;
          bar.update(bar.getTotal());
          doneCount++;
          break;
        case 'run_finished':
          if (started) bar.stop();
          break;
      }
    },
  };
}

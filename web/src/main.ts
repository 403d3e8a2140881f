import '@comfyorg/litegraph/style.css';
import './style.css';
import { createApp } from './app.ts';
import { toast } from './toast.ts';

createApp()
  .then((app) => {
    // As ComfyUI's frontend does: `app.graph` and `app.canvas` for scripts and the browser console.
    const holder = window as unknown as { app: unknown; fewstep: unknown };
    holder.app = app;
    holder.fewstep = app;
  })
  .catch((error) => {
    console.error(error);
    toast(`The editor could not start: ${(error as Error).message}`, 'error');
  });

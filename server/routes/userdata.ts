import express, { Router, type Request } from 'express';
import { HttpError } from '../http-error.ts';
import { jsonBody } from '../json-body.ts';
import type { UserFiles } from '../user-files.ts';

/** GET /users on a single-user server, as ComfyUI answers it. */
export interface UsersJson {
  storage: 'server';
  migrated: boolean;
}

const flag = (value: unknown, fallback: boolean) => (typeof value === 'string' ? value.toLowerCase() === 'true' : fallback);
/** As ComfyUI: anything but "false" overwrites (the frontend may send overwrite=undefined). */
const overwrite = (value: unknown) => value !== 'false';

/** A settings body, parsed by the server's one JSON parser (any content type, UTF-8, depth-limited); a bare value such as true is fine. */
function settingsBody(req: Request, what: string): unknown {
  if (Buffer.isBuffer(req.body) || req.body === undefined)
    throw new HttpError(400, 'invalid_json', `${what}: the body must be JSON (a bare value such as true is fine)`);
  return req.body;
}

/**
 * ComfyUI's user routes (app/user_manager.py, app/app_settings.py), single-user: /users,
 * /settings (all, one, set one, merge many), /userdata (list, read, write, delete, move) and
 * /v2/userdata (files and folders).
 * They read their own bodies (userdata files are stored byte for byte), so they are mounted
 * before the JSON body parser.
 */
export function userRoutes(files: UserFiles, maxBytes: number): Router {
  const router = Router();
  const raw = express.raw({ type: () => true, limit: maxBytes });
  // Settings are JSON values: the shared parser checks encoding and depth (so nothing stored is too deep to serve back).
  const json = jsonBody(maxBytes);

  router.get('/users', (_req, res) => {
    res.json({ storage: 'server', migrated: files.migrated } satisfies UsersJson);
  });

  router.post('/users', (_req, _res) => {
    throw new HttpError(400, 'single_user', 'fewstep has one user ("default"); there are no user profiles to create');
  });

  router.get('/settings', (_req, res) => {
    res.json(files.settings());
  });

  router.get('/settings/:id', (req, res) => {
    const settings = files.settings();
    res.json(Object.hasOwn(settings, req.params.id) ? settings[req.params.id] : null);
  });

  router.post('/settings', ...json, (req, res) => {
    const update = settingsBody(req, 'POST /settings');
    if (!update || typeof update !== 'object' || Array.isArray(update))
      throw new HttpError(400, 'invalid_body', 'POST /settings: send an object of setting id -> value');
    files.saveSettings({ ...files.settings(), ...(update as Record<string, unknown>) });
    res.json({});
  });

  router.post('/settings/:id', ...json, (req, res) => {
    const id = String(req.params.id);
    const value = settingsBody(req, `POST /settings/${id}`);
    files.saveSettings({ ...files.settings(), [id]: value });
    res.json({});
  });

  router.get('/userdata', (req, res) => {
    const dir = typeof req.query.dir === 'string' ? req.query.dir : '';
    if (!dir) throw new HttpError(400, 'missing_dir', 'give the folder to list: ?dir=workflows');
    res.json(files.list(dir, { recurse: flag(req.query.recurse, false), fullInfo: flag(req.query.full_info, false), split: flag(req.query.split, false) }));
  });

  router.get('/v2/userdata', (req, res) => {
    res.json(files.entries(typeof req.query.path === 'string' ? req.query.path : ''));
  });

  router.get('/userdata/:file', (req, res) => {
    const file = files.existing(req.params.file);
    // User files are the user's own content and never render inline, except the user's stylesheet.
    const css = files.relative(file) === 'user.css';
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Content-Disposition', css ? 'inline' : 'attachment');
    if (css) res.type('text/css');
    else if (file.endsWith('.json')) res.type('application/json');
    else res.type('application/octet-stream');
    res.sendFile(file, { dotfiles: 'allow' });
  });

  router.post('/userdata/:file', raw, (req, res) => {
    const bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const file = files.write(req.params.file, bytes, overwrite(req.query.overwrite));
    res.json(flag(req.query.full_info, false) ? files.info(file) : files.relative(file));
  });

  router.delete('/userdata/:file', (req, res) => {
    files.remove(req.params.file);
    res.status(204).end();
  });

  router.post('/userdata/:file/move/:dest', (req, res) => {
    const file = files.move(req.params.file, req.params.dest, overwrite(req.query.overwrite));
    res.json(flag(req.query.full_info, false) ? files.info(file) : files.relative(file));
  });

  return router;
}

import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Router } from 'express';
import multer from 'multer';
import { resolveInside, PathError } from '../../engine/files.ts';
import type { Folders } from '../../engine/index.ts';
import { HttpError } from '../http-error.ts';

const FOLDER_TYPES = ['output', 'input', 'temp'] as const;
type FolderType = (typeof FOLDER_TYPES)[number];
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const MIME: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.json': 'application/json',
};

function folderOf(folders: Folders, type: unknown): string {
  const name = type === undefined || type === '' ? 'output' : String(type);
  if (!(FOLDER_TYPES as readonly string[]).includes(name)) throw new HttpError(400, 'invalid_type', `type must be one of ${FOLDER_TYPES.join(', ')}`);
  return folders[name as FolderType];
}

/** A path inside one of the folders, checked on the real path; anything leaving it is a 403. */
function inside(root: string, subfolder: string, filename: string): string {
  try {
    return resolveInside(root, path.join(subfolder, filename));
  } catch (error) {
    if (error instanceof PathError) throw new HttpError(403, 'path_refused', error.message);
    throw error;
  }
}

function plainName(value: unknown, what: string): string {
  const name = typeof value === 'string' ? value : '';
  if (!name || name === '.' || name === '..' || /[/\\\0]/.test(name)) throw new HttpError(400, 'invalid_filename', `${what} must be a plain file name, without folders`);
  return name;
}

/** GET /view and POST /upload/image: files in the input, output and temp folders, and nowhere else. */
export function fileRoutes(folders: Folders, maxUploadBytes: number): Router {
  const router = Router();
  const upload = multer({ storage: multer.memoryStorage(), limits: { fileSize: maxUploadBytes, files: 1, fields: 10, fieldSize: 1024 } });

  router.get('/view', (req, res) => {
    const filename = plainName(req.query.filename, 'filename');
    const subfolder = typeof req.query.subfolder === 'string' ? req.query.subfolder : '';
    const file = inside(folderOf(folders, req.query.type), subfolder, filename);
    if (!existsSync(file) || !statSync(file).isFile()) throw new HttpError(404, 'not_found', `no file ${path.posix.join(subfolder, filename)}`);
    res.type(MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream');
    res.setHeader('Content-Disposition', `inline; filename="${filename.replace(/["\\\r\n]/g, '_')}"`);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    // The real path was checked above; dotfiles are allowed since a name like ".x.png" is still inside.
    res.sendFile(file, { dotfiles: 'allow' });
  });

  router.post('/upload/image', upload.single('image'), (req, res) => {
    const file = req.file;
    if (!file) throw new HttpError(400, 'missing_file', 'send the image as multipart field "image"');
    const type = (req.body?.type as string | undefined) || 'input';
    const root = folderOf(folders, type);
    const subfolder = typeof req.body?.subfolder === 'string' ? req.body.subfolder : '';
    const original = plainName(path.basename(file.originalname || ''), 'the uploaded file name');
    if (!file.buffer.subarray(0, 8).equals(PNG_SIGNATURE)) throw new HttpError(415, 'unsupported_image', `${original} is not a PNG; fewstep reads PNG images`);
    const overwrite = req.body?.overwrite === 'true' || req.body?.overwrite === '1';
    let name = original;
    let target = inside(root, subfolder, name);
    // As ComfyUI: a name already taken gets " (1)", " (2)", ... unless overwrite is asked for.
    for (let n = 1; !overwrite && existsSync(target); n++) {
      const ext = path.extname(original);
      name = `${path.basename(original, ext)} (${n})${ext}`;
      target = inside(root, subfolder, name);
    }
    mkdirSync(path.dirname(target), { recursive: true });
    // Re-check after creating folders: a symlinked subfolder must not lead out.
    target = inside(root, subfolder, name);
    writeFileSync(target, file.buffer, { flag: overwrite ? 'w' : 'wx' });
    res.json({ name, subfolder: subfolder.split(path.sep).join('/'), type });
  });

  return router;
}

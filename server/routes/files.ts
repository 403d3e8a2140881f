import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Router, type Response } from 'express';
import { parseAnnotatedName, quoteName } from '../../engine/files.ts';
import type { Folders } from '../../engine/index.ts';
import { decodeImageRgba } from '../../engine/image/decode.ts';
import { ImageError } from '../../engine/image/image-header.ts';
import { encodeRgbaJpeg, encodeRgbaPng, type RgbaImage } from '../../engine/image/rgba.ts';
import { HttpError } from '../http-error.ts';
import { folderOf, inside, plainName } from '../upload-store.ts';
import { imageHttpError, uploadRoutes } from './uploads.ts';

const MIME: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.json': 'application/json',
};

/**
 * Content-Disposition for a file name of any script (RFC 6266): an ASCII fallback in `filename`
 * and the exact name, UTF-8 and percent-encoded, in `filename*` (RFC 5987). A raw non-Latin-1
 * name in a header is invalid and made Node throw, so such images could never be viewed.
 */
export function contentDisposition(filename: string, kind: 'inline' | 'attachment' = 'inline'): string {
  const fallback = filename.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  const encoded = encodeURIComponent(filename).replace(/['()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${kind}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

/** GET /view, POST /upload/image and /upload/mask: files in the input, output and temp folders, and nowhere else. */
export function fileRoutes(folders: Folders, maxUploadBytes: number): Router {
  const router = Router();

  router.get('/view', (req, res) => {
    // ComfyUI's annotated names: `name.png [input]` names the folder in the name itself.
    const annotated = parseAnnotatedName(typeof req.query.filename === 'string' ? req.query.filename : '');
    const filename = plainName(annotated.name, 'filename');
    const subfolder = typeof req.query.subfolder === 'string' ? req.query.subfolder : '';
    const file = inside(folderOf(folders, annotated.type ?? req.query.type), subfolder, filename);
    let isFile = false;
    try {
      isFile = statSync(file).isFile();
    } catch {
      // Reported below.
    }
    if (!isFile) throw new HttpError(404, 'not_found', `no file ${path.posix.join(subfolder, filename)}`);
    res.setHeader('Content-Disposition', contentDisposition(filename));
    res.setHeader('X-Content-Type-Options', 'nosniff');
    const preview = typeof req.query.preview === 'string' ? req.query.preview : undefined;
    const channel = typeof req.query.channel === 'string' ? req.query.channel : '';
    if (preview !== undefined || channel === 'rgb' || channel === 'a') {
      if (sendConverted(res, file, filename, preview, channel)) return;
    }
    res.type(MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream');
    // The real path was checked above; dotfiles are allowed since a name like ".x.png" is still inside.
    res.sendFile(file, { dotfiles: 'allow' });
  });

  router.use(uploadRoutes(folders, maxUploadBytes));
  return router;
}

/**
 * ComfyUI's /view conversions: `channel=rgb` (alpha dropped), `channel=a` (the alpha as a
 * transparent black image), `preview=format;quality`. fewstep cannot encode WebP, so a WebP
 * preview comes as JPEG (as PNG where the alpha matters), as ComfyUI falls back to a format it has.
 * False when the file cannot be converted and a preview may just be the file itself (a WebP).
 */
function sendConverted(res: Response, file: string, filename: string, preview: string | undefined, channel: string): boolean {
  let image: RgbaImage;
  try {
    image = decodeImageRgba(readFileSync(file), quoteName(filename));
  } catch (error) {
    if (!(error instanceof ImageError)) throw error;
    if (preview !== undefined && error.code === 'unsupported_image' && channel !== 'rgb' && channel !== 'a') return false;
    throw imageHttpError(error);
  }
  if (channel === 'a') {
    const alpha = new Uint8Array(image.data.length);
    for (let p = 3; p < alpha.length; p += 4) alpha[p] = image.data[p];
    image = { ...image, data: alpha };
  }
  if (preview === undefined) {
    res.type('image/png').send(encodeRgbaPng(image, channel !== 'rgb'));
    return true;
  }
  const [format = '', ...rest] = preview.split(';');
  const last = rest.at(-1) ?? '';
  const quality = /^\d+$/.test(last) ? Math.min(100, Math.max(1, Number(last))) : 90;
  const keepAlpha = channel !== 'rgb' && (channel.includes('a') || (format !== 'jpeg' && hasTransparency(image)));
  if (keepAlpha) res.type('image/png').send(encodeRgbaPng(image, true));
  else res.type('image/jpeg').send(encodeRgbaJpeg(image, quality));
  return true;
}

function hasTransparency(image: RgbaImage): boolean {
  for (let p = 3; p < image.data.length; p += 4) if (image.data[p] !== 255) return true;
  return false;
}

import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import multer from 'multer';
import { parseAnnotatedName, quoteName } from '../../engine/files.ts';
import type { Folders } from '../../engine/index.ts';
import { decodeImageRgba } from '../../engine/image/decode.ts';
import { checkPixelLimit, ImageError, imageHeaderOfFile } from '../../engine/image/image-header.ts';
import { insertTextChunks } from '../../engine/image/png.ts';
import { encodeRgbaPng } from '../../engine/image/rgba.ts';
import { HttpError } from '../http-error.ts';
import { folderOf, inside, plainName, removeStaleStaging, stagingStorage, storeUpload } from '../upload-store.ts';

/** An image error as the HTTP answer: too many pixels 413, not an image fewstep knows 415. */
export function imageHttpError(error: ImageError): HttpError {
  return new HttpError(error.code === 'image_too_large' ? 413 : 415, error.code, error.message);
}

/**
 * Multer's and busboy's errors are the client's (a malformed or truncated form, too many parts,
 * a file too large): 4xx in ComfyUI's error shape. File system errors stay the server's.
 */
function uploadError(error: unknown, maxUploadBytes: number): unknown {
  if (error instanceof HttpError) return error;
  const e = error as { name?: string; code?: unknown; message?: string };
  if (e?.name === 'MulterError') {
    if (e.code === 'LIMIT_FILE_SIZE') return new HttpError(413, 'file_too_large', `the file is larger than ${maxUploadBytes.toLocaleString('en-US')} bytes`);
    if (e.code === 'LIMIT_UNEXPECTED_FILE') return new HttpError(400, 'unexpected_file', 'send one file, as multipart field "image"');
    return new HttpError(400, String(e.code ?? 'invalid_upload').toLowerCase(), e.message ?? 'invalid upload');
  }
  if (typeof e?.code === 'string' && /^E[A-Z]+$/.test(e.code)) return error;
  return new HttpError(400, 'invalid_multipart', `malformed multipart form: ${e?.message ?? 'unreadable'}`);
}

const field = (req: Request, name: string): string | undefined => {
  const value = (req.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : undefined;
};

/** The name of the uploaded file: UTF-8, without any client-side folders, at most 255 bytes. */
function uploadName(file: Express.Multer.File): string {
  return plainName(path.basename((file.originalname || '').replace(/\\/g, '/')), 'the uploaded file name');
}

/** Checks a staged upload is an image fewstep stores (PNG, JPEG, WebP by its bytes) within the pixel limit. */
function checkStagedImage(staged: string, name: string): void {
  try {
    checkPixelLimit(imageHeaderOfFile(staged, quoteName(name)), quoteName(name));
  } catch (error) {
    if (error instanceof ImageError) throw imageHttpError(error);
    throw error;
  }
}

/** POST /upload/image and /upload/mask, as ComfyUI's server takes them. */
/** Where an upload goes and under which name, from its form fields (ComfyUI's names). */
function uploadTarget(folders: Folders, req: Request, staged: Express.Multer.File) {
  const type = field(req, 'type') || 'input';
  const name = uploadName(staged);
  checkStagedImage(staged.path, name);
  const overwrite = field(req, 'overwrite') === 'true' || field(req, 'overwrite') === '1';
  return { type, root: folderOf(folders, type), subfolder: field(req, 'subfolder') ?? '', name, overwrite };
}

export function uploadRoutes(folders: Folders, maxUploadBytes: number): Router {
  const router = Router();
  removeStaleStaging(folders);
  const upload = multer({
    storage: stagingStorage(folders),
    // Names as UTF-8 (busboy's default is Latin-1, which turns 中.png into mojibake).
    defParamCharset: 'utf8',
    limits: { fileSize: maxUploadBytes, files: 1, fields: 10, fieldSize: 4096, parts: 16 },
  }).single('image');
  const parse: RequestHandler = (req, res, next) => {
    upload(req, res, (error?: unknown) => next(error === undefined ? undefined : uploadError(error, maxUploadBytes)));
  };

  /** Runs a handler with the staged file, and removes the staging file whatever happens. */
  const withStaged = (handle: (req: Request, res: Response, staged: Express.Multer.File) => void) => (req: Request, res: Response, next: NextFunction) => {
    const staged = req.file;
    try {
      if (!staged) throw new HttpError(400, 'missing_file', 'send the image as multipart field "image"');
      handle(req, res, staged);
    } catch (error) {
      next(error);
    } finally {
      if (staged?.path) rmSync(staged.path, { force: true });
    }
  };

  router.post(
    '/upload/image',
    parse,
    withStaged((req, res, staged) => {
      const { type, root, subfolder, name, overwrite } = uploadTarget(folders, req, staged);
      const stored = storeUpload({ root, subfolder, name, overwrite, staged: staged.path });
      res.json({ name: stored.name, subfolder: subfolder.split(path.sep).join('/'), type });
    }),
  );

  // The mask editor's save: the mask's alpha applied to the original image (original_ref), saved as PNG.
  router.post(
    '/upload/mask',
    parse,
    withStaged((req, res, staged) => {
      const { type, root, subfolder, name, overwrite } = uploadTarget(folders, req, staged);
      const original = originalImage(folders, field(req, 'original_ref'));
      const mask = decoded(readFileSync(staged.path), quoteName(name));
      if (mask.width !== original.image.width || mask.height !== original.image.height) {
        throw new HttpError(
          400,
          'mask_size_mismatch',
          `the mask is ${mask.width} x ${mask.height} pixels, the original ${original.shown} is ${original.image.width} x ${original.image.height}`,
        );
      }
      const rgba = original.image.data;
      for (let p = 3; p < rgba.length; p += 4) rgba[p] = mask.data[p];
      const bytes = insertTextChunks(encodeRgbaPng(original.image, true), original.image.text);
      // Stored like any upload: same name and bytes deduplicated, taken names numbered.
      const composed = path.join(path.dirname(staged.path), `.fewstep-upload-${randomUUID()}.part`);
      try {
        writeFileSync(composed, bytes, { flag: 'wx' });
        const stored = storeUpload({ root, subfolder, name, overwrite, staged: composed });
        res.json({ name: stored.name, subfolder: subfolder.split(path.sep).join('/'), type });
      } finally {
        rmSync(composed, { force: true });
      }
    }),
  );

  return router;
}

function decoded(bytes: Buffer, where: string) {
  try {
    return decodeImageRgba(bytes, where);
  } catch (error) {
    if (error instanceof ImageError) throw imageHttpError(error);
    throw error;
  }
}

/** The image original_ref names (`{filename, subfolder?, type?}`, type output by default as in ComfyUI), decoded. */
function originalImage(folders: Folders, text: string | undefined) {
  let ref: { filename?: unknown; subfolder?: unknown; type?: unknown };
  try {
    ref = JSON.parse(text ?? '') as typeof ref;
  } catch {
    throw new HttpError(400, 'invalid_original_ref', 'original_ref must be JSON: {"filename": ..., "subfolder": ..., "type": ...}');
  }
  if (ref === null || typeof ref !== 'object') throw new HttpError(400, 'invalid_original_ref', 'original_ref must be a JSON object');
  const annotated = parseAnnotatedName(typeof ref.filename === 'string' ? ref.filename : '');
  const filename = plainName(annotated.name, 'original_ref.filename');
  const subfolder = typeof ref.subfolder === 'string' ? ref.subfolder : '';
  const type = annotated.type ?? (typeof ref.type === 'string' && ref.type !== '' ? ref.type : 'output');
  const file = inside(folderOf(folders, type), subfolder, filename);
  const shown = quoteName(path.posix.join(subfolder, filename));
  let isFile = false;
  try {
    isFile = statSync(file).isFile();
  } catch {
    // Reported below.
  }
  if (!isFile) throw new HttpError(404, 'original_not_found', `original_ref: no file ${shown} in the ${type} folder`);
  return { image: decoded(readFileSync(file), shown), shown };
}

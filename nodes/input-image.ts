import { readFileSync, statSync } from 'node:fs';
import { parseAnnotatedName, PathError, quoteName, resolveInside, staysInside, type FolderType } from '../engine/files.ts';
import type { Folders } from '../engine/node.ts';
import { decodeImage } from '../engine/image/decode.ts';
import { checkPixelLimit, ImageError, imageHeaderOfFile } from '../engine/image/image-header.ts';
import type { ImageBatch } from '../engine/image/image-batch.ts';

/**
 * The image a LoadImage names: a file in the input folder (`photo.png`, `sub/photo.png`), or in
 * the output or temp folder with ComfyUI's annotation (`photo.png [output]`). Errors name the file
 * as given, relative to its folder, never the machine's paths; every name that leaves its folder
 * gets the same message, whether or not something exists there.
 */
export class InputImageError extends Error {
  override readonly name = 'InputImageError';
}

interface Located {
  file: string;
  type: FolderType;
  shown: string;
}

function locate(folders: Folders, image: string): Located {
  const { name, type = 'input' } = parseAnnotatedName(image);
  try {
    return { file: resolveInside(folders[type], name, type), type, shown: quoteName(name) };
  } catch (error) {
    if (error instanceof PathError) throw new InputImageError(error.message);
    throw error;
  }
}

function existingFile({ file, type, shown }: Located): string {
  let isFile: boolean;
  try {
    isFile = statSync(file).isFile();
  } catch {
    throw new InputImageError(`${shown} does not exist in the ${type} folder`);
  }
  if (!isFile) throw new InputImageError(`${shown} in the ${type} folder is not a file`);
  return file;
}

/**
 * Problems with an image name, for validation: without folders only whether it stays inside;
 * with them also that it exists, is a PNG or JPEG and is within the pixel limit (header only).
 */
export function checkInputImage(image: string, folders: Folders | undefined): string | undefined {
  try {
    if (!folders) {
      const { name, type = 'input' } = parseAnnotatedName(image);
      return staysInside(name) ? undefined : new PathError(name, type).message;
    }
    const located = locate(folders, image);
    const header = imageHeaderOfFile(existingFile(located), located.shown);
    if (header.format === 'webp') return `${located.shown} is a WebP image; LoadImage reads PNG and JPEG (convert it to PNG)`;
    checkPixelLimit(header, located.shown);
    return undefined;
  } catch (error) {
    if (error instanceof InputImageError || error instanceof ImageError) return error.message;
    // A file inside the folder that cannot be opened (permissions): said, not thrown from validation.
    return `${quoteName(image)} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`;
  }
}

/** Reads and decodes the image a LoadImage names (PNG or JPEG). */
export function loadInputImage(image: string, folders: Folders): ImageBatch {
  const located = locate(folders, image);
  const bytes = readFileSync(existingFile(located));
  return decodeImage(bytes, located.shown).image;
}

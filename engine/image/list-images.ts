import { readdirSync, type Dirent } from 'node:fs';

/** File endings of the images fewstep stores (uploads are sniffed; these are what a listing shows). */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp'];

/**
 * The image files directly in `folder`, sorted, as ComfyUI lists its input folder for LoadImage:
 * plain files only, no hidden ones (temporary files of uploads in progress start with a dot).
 */
export function listImageFiles(folder: string): string[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(folder, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((entry) => entry.isFile() && !entry.name.startsWith('.') && IMAGE_EXTENSIONS.some((ext) => entry.name.toLowerCase().endsWith(ext)))
    .map((entry) => entry.name)
    .sort();
}

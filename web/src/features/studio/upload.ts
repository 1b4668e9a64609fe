// Uploads a file the way the API asks: one PUT through the API (local storage) or straight to
// storage (S3 presigned), or presigned parts for large files. Each part is retried with backoff
// after a dropped connection, so an upload resumes from the part that failed, not from zero.
import { ApiError, api, authHeader, putWithProgress } from "../../core/api";
import type { Clip, Upload } from "../../core/types";

export interface UploadProgress {
  sent: number;
  total: number;
  retryingPart?: number;
}

const RETRIES = 5;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function withRetries<T>(part: number, notify: (retryPart: number) => void, run: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      const transient = error instanceof ApiError && (error.status === 0 || error.status >= 500);
      if (!transient || attempt >= RETRIES) throw error;
      notify(part);
      await sleep(Math.min(8000, 500 * 2 ** attempt));
    }
  }
}

export async function uploadFile(
  file: File,
  meta: { caption: string; interests: string[] },
  onProgress: (p: UploadProgress) => void,
): Promise<Clip> {
  const upload: Upload = await api.createUpload({
    size: file.size,
    content_type: file.type || "application/octet-stream",
    file_name: file.name,
    caption: meta.caption,
    interests: meta.interests,
  });
  const total = file.size;
  if (upload.mode === "multipart" && upload.parts.length) {
    const done = new Map<number, number>();
    const etags: { part_number: number; etag: string }[] = [];
    let offset = 0;
    for (const part of upload.parts) {
      const start = offset;
      offset += part.size;
      const blob = file.slice(start, start + part.size);
      const { etag } = await withRetries(
        part.part_number,
        (n) => onProgress({ sent: sum(done), total, retryingPart: n }),
        () =>
          putWithProgress(part.url, blob, {}, (sent) => {
            done.set(part.part_number, sent);
            onProgress({ sent: sum(done), total });
          }),
      );
      done.set(part.part_number, part.size);
      etags.push({ part_number: part.part_number, etag: etag || "" });
    }
    onProgress({ sent: total, total });
    const withTags = etags.every((p) => p.etag) ? etags : undefined;
    return api.completeUpload(upload.id, withTags);
  }
  // Through the API: the same origin as this page, whatever host the API advertises.
  const throughApi = upload.mode === "proxy" || !upload.upload_url;
  const url = throughApi ? new URL(upload.content_url, location.href).pathname : (upload.upload_url as string);
  const headers =
    throughApi
      ? { ...authHeader(), "Content-Type": file.type || "application/octet-stream" }
      : upload.upload_headers;
  await withRetries(
    1,
    (n) => onProgress({ sent: 0, total, retryingPart: n }),
    () => putWithProgress(url, file, headers, (sent) => onProgress({ sent, total })),
  );
  onProgress({ sent: total, total });
  return api.completeUpload(upload.id);
}

function sum(map: Map<number, number>): number {
  let s = 0;
  for (const v of map.values()) s += v;
  return s;
}

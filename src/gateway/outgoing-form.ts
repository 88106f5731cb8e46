import { randomBytes } from 'node:crypto';

export type OutgoingPart =
  { name: string; value: string } | { name: string; data: Buffer; filename: string; contentType?: string };

/** A multipart body as a list of buffers: the image is one of them, referenced, never copied. */
export interface OutgoingForm {
  contentType: string;
  contentLength: number;
  chunks: Buffer[];
}

/**
 * Builds a multipart/form-data body around buffers the gateway already holds. Used when a request is
 * split across routes or converted for MT-Photos: each upstream gets its own small envelope around the
 * same image buffer.
 */
export function outgoingForm(parts: OutgoingPart[]): OutgoingForm {
  const boundary = `----immich-ai-gateway-${randomBytes(12).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const name = quote(part.name);
    if ('value' in part) {
      chunks.push(
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${part.value}\r\n`),
      );
    } else {
      chunks.push(
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${quote(part.filename)}"\r\n` +
            `Content-Type: ${part.contentType ?? 'application/octet-stream'}\r\n\r\n`,
        ),
        part.data,
        Buffer.from('\r\n'),
      );
    }
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    contentLength: chunks.reduce((sum, chunk) => sum + chunk.length, 0),
    chunks,
  };
}

// Names here are ours (entries, image, text, file); escaping keeps an odd one from breaking the header.
const quote = (value: string) => value.replace(/"/g, '%22').replace(/\r|\n/g, ' ');

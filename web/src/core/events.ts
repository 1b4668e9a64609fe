// Interaction events, batched: queued, sent every few seconds (or at 50), and flushed with a
// keepalive request when the page is hidden. Each has a client id, so a resend is harmless.
import { api } from "./api";
import { uuid } from "./dom";
import type { ClientEvent, EventType } from "./types";

const queue: ClientEvent[] = [];
let timer = 0;
let sending: Promise<void> | null = null;

export function track(type: EventType, fields: Omit<ClientEvent, "event_id" | "type" | "at"> = {}): void {
  queue.push({ event_id: uuid(), type, at: new Date().toISOString(), ...fields });
  if (queue.length >= 50) void flush();
  else if (!timer) timer = window.setTimeout(() => void flush(), 2000);
}

export async function flush(keepalive = false): Promise<void> {
  window.clearTimeout(timer);
  timer = 0;
  if (sending) await sending;
  if (!queue.length) return;
  const batch = queue.splice(0, 500);
  sending = (async () => {
    try {
      await api.sendEvents(batch, keepalive);
    } catch (error) {
      // network trouble: keep them for the next flush (the ids make a resend a no-op)
      if ((error as { status?: number }).status === 0) queue.unshift(...batch);
    } finally {
      sending = null;
    }
  })();
  await sending;
}

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "hidden") void flush(true);
});
window.addEventListener("pagehide", () => void flush(true));

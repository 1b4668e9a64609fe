// The typed API client: tokens (guest sessions included), refresh on 401, problem documents as
// errors, the device id header on every call, and progress-reporting uploads.
import type {
  ClientEvent, Clip, CursorPage, FeedPage, ImportJob, InterestNode, OffsetPage, Order, Product, Role,
  Stock, Tag, Tokens, Upload, User, Problem,
} from "./types";
import { uuid } from "./dom";

const AUTH_KEY = "clipshop.auth";
const DEVICE_KEY = "clipshop.device";

export class ApiError extends Error {
  constructor(public status: number, public problem: Problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
  }
  get code(): string | undefined {
    return this.problem.code;
  }
}

interface Session {
  access: string;
  refresh: string;
  user: User;
}

let session: Session | null = (() => {
  try {
    return JSON.parse(localStorage.getItem(AUTH_KEY) || "null") as Session | null;
  } catch {
    return null;
  }
})();
const listeners: (() => void)[] = [];

export function deviceId(): string {
  let id = localStorage.getItem(DEVICE_KEY);
  if (!id) {
    id = uuid();
    localStorage.setItem(DEVICE_KEY, id);
  }
  return id;
}

export function currentUser(): User | null {
  return session?.user ?? null;
}

export function onAuthChange(fn: () => void): void {
  listeners.push(fn);
}

function store(tokens: Tokens | null): void {
  session = tokens ? { access: tokens.access_token, refresh: tokens.refresh_token, user: tokens.user } : null;
  if (session) localStorage.setItem(AUTH_KEY, JSON.stringify(session));
  else localStorage.removeItem(AUTH_KEY);
  listeners.forEach((fn) => fn());
}

export function authHeader(): Record<string, string> {
  return session ? { Authorization: `Bearer ${session.access}` } : {};
}

type Body = object | FormData | Blob | string | undefined;

interface RequestOptions {
  body?: Body;
  headers?: Record<string, string>;
  auth?: boolean;
  keepalive?: boolean;
}

export interface Answer<T> {
  data: T;
  status: number;
  headers: Headers;
}

let refreshing: Promise<boolean> | null = null;

async function refresh(): Promise<boolean> {
  if (!session) return false;
  const token = session.refresh;
  refreshing ??= (async () => {
    try {
      const res = await fetch("/v1/auth/refresh", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Device-Id": deviceId() },
        body: JSON.stringify({ refresh_token: token }),
      });
      if (!res.ok) {
        store(null);
        return false;
      }
      store((await res.json()) as Tokens);
      return true;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<Answer<T>> {
  const send = () => {
    const headers: Record<string, string> = { "X-Device-Id": deviceId(), ...options.headers };
    if (options.auth !== false) Object.assign(headers, authHeader());
    let body: BodyInit | undefined;
    if (options.body instanceof FormData || options.body instanceof Blob || typeof options.body === "string") {
      body = options.body;
    } else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers["Content-Type"] = "application/json";
    }
    return fetch(path, { method, headers, body, keepalive: options.keepalive });
  };
  let res: Response;
  try {
    res = await send();
    if (res.status === 401 && session && options.auth !== false && (await refresh())) res = await send();
  } catch {
    throw new ApiError(0, { status: 0, code: "network_error", detail: "The server cannot be reached" });
  }
  const type = res.headers.get("content-type") || "";
  const data = type.includes("json") ? await res.json() : undefined;
  if (!res.ok) {
    throw new ApiError(res.status, (data as Problem) ?? { status: res.status, detail: res.statusText });
  }
  return { data: data as T, status: res.status, headers: res.headers };
}

const get = async <T>(path: string) => (await request<T>("GET", path)).data;
const post = async <T>(path: string, body?: Body, headers?: Record<string, string>) =>
  (await request<T>("POST", path, { body, headers })).data;
const qs = (params: Record<string, string | number | null | undefined>) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
};

/** XHR PUT with upload progress (fetch cannot report it). */
export function putWithProgress(
  url: string,
  body: Blob,
  headers: Record<string, string>,
  onProgress: (sent: number) => void,
): Promise<{ status: number; etag: string | null }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", url);
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve({ status: xhr.status, etag: xhr.getResponseHeader("ETag") });
      else {
        let problem: Problem = { status: xhr.status, detail: xhr.statusText };
        try {
          problem = JSON.parse(xhr.responseText) as Problem;
        } catch {
          /* not JSON (S3 answers XML) */
        }
        reject(new ApiError(xhr.status, problem));
      }
    };
    xhr.onerror = () => reject(new ApiError(0, { status: 0, code: "network_error", detail: "Connection lost" }));
    xhr.send(body);
  });
}

export const api = {
  // --- auth -------------------------------------------------------------------------------------
  async login(email: string, password: string): Promise<User> {
    const form = new URLSearchParams({ username: email, password });
    const res = await fetch("/v1/auth/token", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "X-Device-Id": deviceId() },
      body: form,
    });
    const data = await res.json();
    if (!res.ok) throw new ApiError(res.status, data as Problem);
    store(data as Tokens);
    return (data as Tokens).user;
  },
  async guest(): Promise<User> {
    const tokens = await post<Tokens>("/v1/auth/guest");
    store(tokens);
    return tokens.user;
  },
  async ensureSession(): Promise<User> {
    return session?.user ?? (await api.guest());
  },
  async logout(): Promise<void> {
    if (session) {
      try {
        await request("POST", "/v1/auth/logout", { body: { refresh_token: session.refresh } });
      } catch {
        /* signing out locally is what matters */
      }
    }
    store(null);
  },
  hasRole(role: Role): boolean {
    return session?.user.role === role && !session.user.is_guest;
  },
  me: () => get<User>("/v1/me"),

  // --- interests and feed --------------------------------------------------------------------
  interests: () => get<{ items: InterestNode[] }>("/v1/interests"),
  myInterests: () => get<{ items: { slug: string; selected: boolean }[] }>("/v1/me/interests"),
  setInterests: (slugs: string[]) => request("PUT", "/v1/me/interests", { body: { slugs } }),
  feed: (cursor?: string | null, limit = 5) => get<FeedPage>(`/v1/feed${qs({ cursor, limit })}`),
  sendEvents: (events: ClientEvent[], keepalive = false) =>
    request("POST", "/v1/events", { body: { events }, keepalive }),
  follow: (handle: string, on: boolean) =>
    request(on ? "POST" : "DELETE", `/v1/creators/${encodeURIComponent(handle)}/follow`),

  // --- commerce -------------------------------------------------------------------------------
  checkout: (body: Record<string, unknown>, key: string) =>
    request<Order>("POST", "/v1/checkout", { body, headers: { "Idempotency-Key": key } }),
  demoPay: (orderId: string) => post<{ outcome: string }>(`/v1/demo/orders/${orderId}/pay`),
  order: (id: string) => get<Order>(`/v1/orders/${id}`),
  clipTags: (clipId: string) => get<{ items: Tag[] }>(`/v1/clips/${clipId}/tags`),

  // --- creator studio -------------------------------------------------------------------------
  createUpload: (body: { size: number; content_type: string; file_name: string; caption: string; interests: string[] }) =>
    post<Upload>("/v1/uploads", body),
  completeUpload: (id: string, parts?: { part_number: number; etag: string }[]) =>
    post<Clip>(`/v1/uploads/${id}/complete`, parts ? { parts } : undefined),
  clip: (id: string) => get<Clip>(`/v1/clips/${id}`),
  myClips: (offset = 0) => get<OffsetPage<Clip>>(`/v1/me/clips${qs({ offset, limit: 50 })}`),
  browseProducts: (q: string, cursor?: string | null) =>
    get<CursorPage<Product>>(`/v1/products${qs({ q, cursor, limit: 12 })}`),
  addTag: (clipId: string, body: Record<string, unknown>) => post<Tag>(`/v1/clips/${clipId}/tags`, body),
  acceptTag: (clipId: string, tagId: string) => post<Tag>(`/v1/clips/${clipId}/tags/${tagId}/accept`),
  rejectTag: (clipId: string, tagId: string) => request("POST", `/v1/clips/${clipId}/tags/${tagId}/reject`),
  removeTag: (clipId: string, tagId: string) => request("DELETE", `/v1/clips/${clipId}/tags/${tagId}`),

  // --- merchant -------------------------------------------------------------------------------
  merchantProducts: (offset = 0) =>
    get<OffsetPage<Product> & { total: number; offset: number; limit: number }>(
      `/v1/merchant/products${qs({ offset, limit: 50 })}`,
    ),
  createProduct: (body: Record<string, unknown>) => post<Product>("/v1/merchant/products", body),
  async stock(skuId: string): Promise<{ stock: Stock; etag: string }> {
    const answer = await request<Stock>("GET", `/v1/merchant/skus/${skuId}/stock`);
    return { stock: answer.data, etag: answer.headers.get("ETag") || `"${answer.data.version}"` };
  },
  setStock: (skuId: string, quantity: number, etag: string) =>
    request<Stock>("PUT", `/v1/merchant/skus/${skuId}/stock`, {
      body: { quantity, note: "edited in the merchant console" },
      headers: { "If-Match": etag },
    }),
  startImport: (form: FormData) => post<ImportJob>("/v1/merchant/catalog/imports", form),
  importJob: (id: string) => get<ImportJob>(`/v1/merchant/catalog/imports/${id}`),
  merchantOrders: (status?: string) =>
    get<OffsetPage<Order>>(`/v1/merchant/orders${qs({ status, limit: 50 })}`),
  refund: (id: string, restock: boolean) => post<Order>(`/v1/merchant/orders/${id}/refund`, { restock }),

  // --- admin ----------------------------------------------------------------------------------
  users: (offset = 0) => get<OffsetPage<User>>(`/v1/admin/users${qs({ offset, limit: 100 })}`),
  setUserActive: (id: string, active: boolean) =>
    request<User>("PATCH", `/v1/admin/users/${id}`, { body: { is_active: active } }),
};

// The feed's first page, requested by the shell while the feed's code is still downloading.
let firstFeedPage: Promise<FeedPage> | null = null;

export function prefetchFeed(): void {
  if (!session || firstFeedPage) return;
  const early = (window as { __clipshopFeed?: Promise<Response> }).__clipshopFeed;
  delete (window as { __clipshopFeed?: Promise<Response> }).__clipshopFeed;
  firstFeedPage = early
    ? early.then((res) => (res.ok ? (res.json() as Promise<FeedPage>) : api.feed(null, 3))).catch(() => api.feed(null, 3))
    : api.feed(null, 3);
  firstFeedPage.catch(() => undefined);
}

export function takePrefetchedFeed(): Promise<FeedPage> | null {
  const page = firstFeedPage;
  firstFeedPage = null;
  return page;
}

export function problemText(error: unknown): string {
  if (error instanceof ApiError) {
    const p = error.problem;
    const fields = (p.errors || [])
      .map((e) => [e.field ?? (e.loc || []).slice(1).join("."), e.message ?? e.msg].filter(Boolean).join(": "))
      .filter(Boolean);
    return [p.detail || p.title || `HTTP ${error.status}`, ...fields].join(" — ");
  }
  return error instanceof Error ? error.message : String(error);
}

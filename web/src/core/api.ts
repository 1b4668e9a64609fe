// The typed API client: tokens (guest sessions included), refresh on 401, problem documents as
// errors, the device id header on every call, and progress-reporting uploads.
import type {
  Admission, Block, ClientEvent, Clip, ClipCard, Collaboration, Comment, CommentPage, CreatorDashboard, CreatorProfile,
  CursorPage, DiscoveredCreator, Earnings, FeedPage, IdeaList, ImportJob, InterestNode, LedgerEntry, MerchantDashboard,
  ModerationAction, ModerationVerb, MyCollaboration, NotificationPage, Notification, OffsetPage, OpenProduct, Order,
  Payout, PayoutRun, Poll, Product, Rates, ReportItem, ReportReason, ReportTarget, Role, SearchHit, SearchType, Share,
  ShortlistEntry, Stock, StorefrontItem, Suggestion, Tag, Tokens, Upload, User, Problem, Authenticity,
  AdminOverview, BlockedWord, EntityReport, FlaggedAccount, SharePage, Thresholds, WebhookDelivery, WebhookEndpoint,
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
  // one key per refund the merchant confirms: a retry of the same click refunds once
  refundLines: (id: string, lines: { line_id: string; quantity: number }[], restock: boolean, reason: string, key: string) =>
    post<{ order: Order }>(`/v1/merchant/orders/${id}/refunds`, { lines, restock, reason: reason || null }, { "Idempotency-Key": key }),

  merchantPolls: (cursor?: string | null) => get<CursorPage<Poll>>(`/v1/merchant/polls${qs({ cursor, limit: 20 })}`),
  rates: () => get<Rates>("/v1/merchant/commission-rates"),
  setRates: (body: Rates) => request<Rates>("PUT", "/v1/merchant/commission-rates", { body }).then((a) => a.data),
  collaborations: (cursor?: string | null) =>
    get<CursorPage<Collaboration>>(`/v1/merchant/collaborations${qs({ cursor, limit: 20 })}`),
  createCollaboration: (body: Record<string, unknown>) => post<Collaboration>("/v1/merchant/collaborations", body),
  endCollaboration: (id: string) => post<Collaboration>(`/v1/merchant/collaborations/${id}/end`),
  merchantDashboard: (start?: string, end?: string) =>
    get<MerchantDashboard>(`/v1/merchant/analytics/dashboard${qs({ start, end, tz: timeZone() })}`),
  discoverCreators: (params: Record<string, string | number | null | undefined>) =>
    get<CursorPage<DiscoveredCreator>>(`/v1/merchant/creators/discover${qs({ ...params, limit: 20 })}`),
  shortlist: () => get<CursorPage<ShortlistEntry>>("/v1/merchant/creators/shortlist?limit=100"),
  setShortlisted: (handle: string, on: boolean, note?: string) =>
    on
      ? request<ShortlistEntry>("PUT", `/v1/merchant/creators/shortlist/${encodeURIComponent(handle)}`, { body: { note: note || null } })
      : request("DELETE", `/v1/merchant/creators/shortlist/${encodeURIComponent(handle)}`),
  authenticity: (handle: string) => get<Authenticity>(`/v1/analytics/creators/${encodeURIComponent(handle)}/authenticity`),
  entityReport: (kind: "products" | "skus", id: string, start?: string, end?: string) =>
    get<EntityReport>(`/v1/merchant/analytics/${kind}/${id}${qs({ start, end, tz: timeZone() })}`),

  // --- outbound webhooks: base is /v1/me/webhooks (a user's own) or /v1/merchant/webhooks -------
  webhookTypes: (base: string) => get<{ event_types: string[] }>(`${base}/event-types`).then((r) => r.event_types),
  webhooks: (base: string) => get<WebhookEndpoint[]>(base),
  addWebhook: (base: string, body: { url: string; description: string | null; event_types: string[] }) =>
    post<WebhookEndpoint>(base, body),
  updateWebhook: (base: string, id: string, body: Record<string, unknown>) =>
    request<WebhookEndpoint>("PATCH", `${base}/${id}`, { body }).then((a) => a.data),
  removeWebhook: (base: string, id: string) => request("DELETE", `${base}/${id}`),
  testWebhook: (base: string, id: string) => post<WebhookDelivery>(`${base}/${id}/test`),
  deliveries: (base: string, id: string, status?: string | null, cursor?: string | null) =>
    get<CursorPage<WebhookDelivery>>(`${base}/${id}/deliveries${qs({ status, cursor, limit: 20 })}`),
  delivery: (base: string, id: string, deliveryId: string) => get<WebhookDelivery>(`${base}/${id}/deliveries/${deliveryId}`),
  redeliver: (base: string, id: string, deliveryId: string) =>
    post<WebhookDelivery>(`${base}/${id}/deliveries/${deliveryId}/redeliver`),

  // --- social -----------------------------------------------------------------------------------
  comments: (clipId: string, sort: "newest" | "top", cursor?: string | null) =>
    get<CommentPage>(`/v1/clips/${clipId}/comments${qs({ sort, cursor, limit: 20 })}`),
  replies: (commentId: string, cursor?: string | null) =>
    get<CommentPage>(`/v1/comments/${commentId}/replies${qs({ cursor, limit: 20 })}`),
  postComment: (clipId: string, body: string, parentId?: string | null) =>
    post<Comment>(`/v1/clips/${clipId}/comments`, { body, parent_id: parentId || null }),
  editComment: (id: string, body: string) => request<Comment>("PATCH", `/v1/comments/${id}`, { body: { body } }).then((a) => a.data),
  deleteComment: (id: string) => request("DELETE", `/v1/comments/${id}`),
  moderateComment: (id: string, verb: "pin" | "unpin" | "hide" | "unhide") => post<Comment>(`/v1/comments/${id}/${verb}`),
  share: (clipId: string, channel = "web") => post<Share>(`/v1/clips/${clipId}/shares`, { channel }),
  polls: (clipId: string) => get<Poll[]>(`/v1/clips/${clipId}/polls`),
  vote: (pollId: string, optionId: string) =>
    request<Poll>("PUT", `/v1/polls/${pollId}/vote`, { body: { option_id: optionId } }).then((a) => a.data),
  createPoll: (clipId: string, body: Record<string, unknown>) => post<Poll>(`/v1/clips/${clipId}/polls`, body),
  closePoll: (pollId: string) => post<Poll>(`/v1/polls/${pollId}/close`),
  blocks: () => get<Block[]>("/v1/me/blocks"),
  block: (target: { handle?: string; user_id?: string }) => post<Block>("/v1/me/blocks", target),
  unblock: (userId: string) => request("DELETE", `/v1/me/blocks/${userId}`),
  report: (targetType: ReportTarget, targetId: string, reason: ReportReason, note?: string) =>
    post<ReportItem>("/v1/reports", { target_type: targetType, target_id: targetId, reason, note: note || null }),

  // --- notifications ----------------------------------------------------------------------------
  notifications: (cursor?: string | null, unread = false) =>
    get<NotificationPage>(`/v1/me/notifications${qs({ cursor, limit: 20, unread: unread ? "true" : null })}`),
  unreadCount: () => get<NotificationPage>("/v1/me/notifications?limit=1&unread=true").then((p) => p.unread_count),
  markRead: (id: string, read: boolean) => post<Notification>(`/v1/me/notifications/${id}/${read ? "read" : "unread"}`),
  markAllRead: () => post<{ marked_read: number }>("/v1/me/notifications/read-all"),

  // --- search and profiles ----------------------------------------------------------------------
  search: (q: string, type: SearchType, cursor?: string | null) =>
    get<CursorPage<SearchHit>>(`/v1/search${qs({ q, type, cursor, limit: 20 })}`),
  suggest: (q: string) => get<{ items: Suggestion[] }>(`/v1/search/suggest${qs({ q, limit: 8 })}`),
  hashtag: (tag: string, cursor?: string | null) =>
    get<CursorPage<SearchHit> & { tag: string; clips: number }>(`/v1/hashtags/${encodeURIComponent(tag)}${qs({ cursor, limit: 20 })}`),
  creator: (handle: string) => get<CreatorProfile>(`/v1/creators/${encodeURIComponent(handle)}`),
  creatorClips: (handle: string, cursor: string) =>
    get<CursorPage<ClipCard>>(`/v1/creators/${encodeURIComponent(handle)}/clips${qs({ cursor, limit: 12 })}`),
  storefront: (handle: string, cursor?: string | null) =>
    get<CursorPage<StorefrontItem>>(`/v1/creators/${encodeURIComponent(handle)}/storefront${qs({ cursor, limit: 20 })}`),
  ideaLists: (handle: string) => get<CursorPage<IdeaList>>(`/v1/creators/${encodeURIComponent(handle)}/idea-lists?limit=20`),

  // --- creator programme ------------------------------------------------------------------------
  admission: () => get<Admission>("/v1/me/creator-programme/application"),
  apply: (category: string | null) => post<Admission>("/v1/me/creator-programme/application", { category }),
  openProducts: (params: Record<string, string | number | null | undefined>) =>
    get<CursorPage<OpenProduct>>(`/v1/me/creator-programme/products${qs({ ...params, limit: 20 })}`),
  myCollaborations: () => get<CursorPage<MyCollaboration>>("/v1/me/collaborations?limit=50"),
  decideCollaboration: (id: string, accept: boolean) =>
    post<MyCollaboration>(`/v1/me/collaborations/${id}/${accept ? "accept" : "decline"}`),
  earnings: () => get<Earnings>("/v1/me/earnings"),
  ledger: (cursor?: string | null) => get<CursorPage<LedgerEntry>>(`/v1/me/earnings/ledger${qs({ cursor, limit: 20 })}`),
  payouts: () => get<CursorPage<Payout>>("/v1/me/payouts?limit=50"),
  myStorefront: (cursor?: string | null) =>
    get<CursorPage<StorefrontItem> & { handle: string }>(`/v1/me/storefront${qs({ cursor, limit: 50 })}`),
  curate: (productId: string, body: { pinned?: boolean; hidden?: boolean }) =>
    request<{ product_id: string; pinned: boolean; hidden: boolean }>("PUT", `/v1/me/storefront/products/${productId}`, { body }).then((a) => a.data),
  myIdeaLists: () => get<CursorPage<IdeaList>>("/v1/me/idea-lists?limit=50"),
  saveIdeaList: (id: string | null, body: { name: string; description: string | null; product_ids: string[] }) =>
    id
      ? request<IdeaList>("PUT", `/v1/me/idea-lists/${id}`, { body }).then((a) => a.data)
      : post<IdeaList>("/v1/me/idea-lists", body),
  removeIdeaList: (id: string) => request("DELETE", `/v1/me/idea-lists/${id}`),
  myShares: (cursor?: string | null) => get<SharePage>(`/v1/me/shares${qs({ cursor, limit: 20 })}`),
  creatorDashboard: (start?: string, end?: string) =>
    get<CreatorDashboard>(`/v1/me/analytics/dashboard${qs({ start, end, tz: timeZone() })}`),

  // --- admin ----------------------------------------------------------------------------------
  users: (offset = 0) => get<OffsetPage<User>>(`/v1/admin/users${qs({ offset, limit: 100 })}`),
  setUserActive: (id: string, active: boolean) =>
    request<User>("PATCH", `/v1/admin/users/${id}`, { body: { is_active: active } }),
  reports: (status: string, cursor?: string | null) =>
    get<CursorPage<ReportItem>>(`/v1/admin/moderation/reports${qs({ status, cursor, limit: 20 })}`),
  decide: (reportId: string, action: ModerationVerb, reason: string) =>
    post<ModerationAction>(`/v1/admin/moderation/reports/${reportId}/decision`, { action, reason }),
  moderate: (body: { action: ModerationVerb; reason: string; target_type: ReportTarget; target_id: string }) =>
    post<ModerationAction>("/v1/admin/moderation/actions", body),
  decisions: (cursor?: string | null) => get<CursorPage<ModerationAction>>(`/v1/admin/moderation/actions${qs({ cursor, limit: 20 })}`),
  setAdmission: (creatorId: string, status: string, note: string) =>
    request<Admission>("PUT", `/v1/admin/creators/${creatorId}/admission`, { body: { status, note: note || null } }).then((a) => a.data),
  thresholds: () => get<{ items: Thresholds[]; criteria: string[] }>("/v1/admin/creator-programme/thresholds"),
  setThresholds: (category: string, thresholds: Record<string, number>) =>
    request<Thresholds>("PUT", `/v1/admin/creator-programme/thresholds/${encodeURIComponent(category)}`, { body: { thresholds } }).then((a) => a.data),
  blockedWords: () => get<BlockedWord[]>("/v1/admin/moderation/blocked-words"),
  addBlockedWord: (word: string) => post<BlockedWord>("/v1/admin/moderation/blocked-words", { word }),
  removeBlockedWord: (id: string) => request("DELETE", `/v1/admin/moderation/blocked-words/${id}`),
  adminOverview: (start?: string, end?: string) =>
    get<AdminOverview>(`/v1/admin/analytics/overview${qs({ start, end, tz: timeZone() })}`),
  flaggedAccounts: (cursor?: string | null) =>
    get<CursorPage<FlaggedAccount>>(`/v1/admin/analytics/flagged-accounts${qs({ cursor, limit: 20 })}`),
  payoutRuns: (cursor?: string | null) => get<CursorPage<PayoutRun>>(`/v1/admin/payout-runs${qs({ cursor, limit: 10 })}`),
  runPayouts: (thresholdMinor: number | null) =>
    post<PayoutRun>("/v1/admin/payout-runs", { key: null, threshold_minor: thresholdMinor }),
  settlePayout: (id: string, status: "paid" | "failed", reference: string) =>
    post<Payout>(`/v1/admin/payouts/${id}/settle`, { status, provider_reference: reference || null }),
};

/** The browser's IANA time zone: analytics days are counted in it. */
export function timeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

/** Downloads a CSV the API answers to a signed-in call (a plain link would carry no token). */
export async function download(path: string, filename: string): Promise<void> {
  const send = () => fetch(path, { headers: { ...authHeader(), "X-Device-Id": deviceId() } });
  let res = await send();
  if (res.status === 401 && session && (await refresh())) res = await send();
  if (!res.ok) {
    const type = res.headers.get("content-type") || "";
    throw new ApiError(res.status, type.includes("json") ? ((await res.json()) as Problem) : { status: res.status, detail: res.statusText });
  }
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// The feed's first page, requested by the shell while the feed's code is still downloading.
let firstFeedPage: Promise<FeedPage> | null = null;

export function prefetchFeed(): void {
  if (!session || firstFeedPage) return;
  // the shell's inline script: the page already parsed, or null when it was refused (an expired
  // token: asked again here, through the refresh)
  const early = (window as { __clipshopFeed?: Promise<FeedPage | null> }).__clipshopFeed;
  delete (window as { __clipshopFeed?: Promise<FeedPage | null> }).__clipshopFeed;
  firstFeedPage = early
    ? early.then((page) => page ?? api.feed(null, 3)).catch(() => api.feed(null, 3))
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

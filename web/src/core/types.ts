// Types of the API's JSON bodies the client reads (mirrors the OpenAPI schema at /openapi.json).
export type Uuid = string;
export type Role = "viewer" | "creator" | "merchant" | "admin";

export interface Problem {
  type?: string;
  title?: string;
  status: number;
  detail?: string;
  code?: string;
  errors?: { loc?: (string | number)[]; field?: string; msg?: string; message?: string }[];
  [extra: string]: unknown;
}

export interface User {
  id: Uuid;
  email: string | null;
  role: Role;
  is_guest: boolean;
  display_name: string | null;
  created_at: string;
  is_active?: boolean;
  creator?: { user_id: Uuid; handle: string; display_name: string } | null;
  merchant?: { organisation_id: Uuid; organisation_name: string; role: string } | null;
}

export interface Tokens {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  user: User;
}

export interface InterestNode {
  slug: string;
  name: string;
  children: { id: number; slug: string; name: string }[];
}

export type Availability = "in_stock" | "low_stock" | "out_of_stock";

export interface Tag {
  id: Uuid;
  clip_id: Uuid;
  sku_id: Uuid;
  product_id: Uuid;
  title: string;
  sku: string;
  options: Record<string, string>;
  start_ms: number;
  end_ms: number;
  x: number | null;
  y: number | null;
  label: string | null;
  status: "active" | "pending" | "rejected" | string;
  source: string;
  price_minor: number;
  currency: string;
  compare_at_minor: number | null;
  available: number;
  availability: Availability;
  image: string | null;
  buy: { method: "POST"; href: string; body: Record<string, unknown> };
}

export interface FeedItem {
  clip: {
    id: Uuid;
    caption: string | null;
    duration_ms: number | null;
    poster_url: string | null;
    playback: { hls_url: string | null; mp4_url: string | null };
    creator: { id: Uuid; handle: string | null; display_name: string | null; avatar_url: string | null };
    counts: { views: number; completes: number; likes: number; shares: number };
  };
  tags: Tag[];
  reason: { code: string; text: string };
}

export interface FeedPage {
  items: FeedItem[];
  next_cursor: string | null;
}

export type EventType =
  | "impression" | "view_progress" | "complete" | "replay" | "skip" | "like" | "unlike" | "share"
  | "follow" | "unfollow" | "product_tap" | "add_to_cart" | "purchase";

export interface ClientEvent {
  event_id: Uuid;
  type: EventType;
  at: string;
  clip_id?: Uuid;
  creator_id?: Uuid;
  watch_ms?: number;
  progress?: number;
}

export interface Upload {
  id: Uuid;
  clip_id: Uuid;
  mode: "proxy" | "single" | "multipart";
  status: string;
  size: number;
  upload_url: string | null;
  upload_headers: Record<string, string>;
  part_size: number | null;
  parts: { part_number: number; url: string; size: number }[];
  content_url: string;
  complete_url: string;
}

export interface Clip {
  id: Uuid;
  creator_id: Uuid;
  status: "uploading" | "processing" | "ready" | "failed" | "deleted";
  caption: string;
  visibility: string;
  interests: string[];
  processing_progress: number;
  failure_code: string | null;
  failure_message: string | null;
  duration_ms: number | null;
  width: number | null;
  height: number | null;
  playback: { hls: string | null; mp4: string | null; poster: string | null; thumbnails: Record<string, Record<string, string>> };
  tags: Tag[];
  created_at: string;
}

export interface Sku {
  id: Uuid;
  product_id: Uuid;
  sku: string;
  options: Record<string, string>;
  price_minor: number;
  currency: string;
  compare_at_minor: number | null;
  active: boolean;
  available: number;
  availability: Availability;
  quantity?: number;
  reserved?: number;
  version?: number;
}

export interface Product {
  id: Uuid;
  organisation_id: Uuid;
  title: string;
  description: string | null;
  brand: string | null;
  category: string | null;
  handle: string | null;
  interests: string[];
  active: boolean;
  images: { id: Uuid; url: string; alt: string | null }[];
  skus: Sku[];
}

export interface Stock {
  sku_id: Uuid;
  quantity: number;
  reserved: number;
  available: number;
  availability: Availability;
  version: number;
}

export interface ImportJob {
  id: Uuid;
  format: string;
  status: string;
  total_rows: number;
  done_rows: number;
  products_written: number;
  skus_written: number;
  errors: { row: number; sku: string | null; field: string | null; message: string }[];
  finished_at: string | null;
}

export interface Order {
  id: Uuid;
  status: string;
  buyer_id: Uuid;
  currency: string;
  total_minor: number;
  clip_id: Uuid | null;
  lines: { id: Uuid; sku_id: Uuid; sku: string; title: string; quantity: number; line_total_minor: number }[];
  created_at: string;
  paid_at: string | null;
  refunded_at: string | null;
}

export interface OffsetPage<T> {
  items: T[];
  total?: number;
  next_offset?: number | null;
}

export interface CursorPage<T> {
  items: T[];
  next_cursor: string | null;
}

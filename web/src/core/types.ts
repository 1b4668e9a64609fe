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
    playback: {
      hls_url: string | null;
      mp4_url: string | null;
      // where a player of the master starts (lowest rung): fetched together with the master
      hls_start_playlist_url?: string | null;
      hls_start_segment_url?: string | null;
    };
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
  share_code?: string;
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
  playback: {
    hls: string | null;
    mp4: string | null;
    poster: string | null;
    thumbnails: Record<string, Record<string, string>>;
    storyboard?: Storyboard | null;
  };
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
  lines: {
    id: Uuid;
    sku_id: Uuid;
    sku: string;
    title: string;
    quantity: number;
    line_total_minor: number;
    refunded_quantity?: number;
    refunded_minor?: number;
  }[];
  refunded_minor?: number;
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

// --- social ------------------------------------------------------------------------------------
export interface Mention {
  handle: string;
  user_id: Uuid;
  start: number;
  end: number;
  url: string;
}

export interface Comment {
  id: Uuid;
  clip_id: Uuid;
  parent_id: Uuid | null;
  author: { id: Uuid; handle: string | null; display_name: string | null } | null;
  body: string | null;
  mentions: Mention[];
  status: "visible" | "hidden" | "deleted";
  pinned: boolean;
  reply_count: number;
  created_at: string;
  edited_at: string | null;
}

export interface CommentPage extends CursorPage<Comment> {
  comment_count: number;
}

export interface Share {
  id: Uuid;
  code: string;
  url: string;
  clip_id: Uuid;
  channel: string | null;
  opens: number;
  views: number;
  purchases: number;
  revenue_minor: number;
  created_at: string;
}

export interface Poll {
  id: Uuid;
  clip_id: Uuid;
  question: string;
  options: { id: Uuid; label: string; product_id: Uuid | null; votes: number | null }[];
  open: boolean;
  closes_at: string | null;
  my_vote: Uuid | null;
  results_visible: boolean;
  total_votes: number | null;
  created_at: string;
}

export type ReportTarget = "clip" | "comment" | "user";
export const REPORT_REASONS = ["spam", "harassment", "hate", "nudity", "violence", "scam", "counterfeit", "other"] as const;
export type ReportReason = (typeof REPORT_REASONS)[number];

export interface Block {
  user_id: Uuid;
  handle: string | null;
  display_name: string | null;
  created_at: string;
}

export interface ReportItem {
  id: Uuid;
  target_type: ReportTarget;
  target_id: Uuid;
  reason: ReportReason;
  note: string | null;
  status: "open" | "actioned" | "dismissed";
  escalated: boolean;
  created_at: string;
  resolved_at: string | null;
  reporter_id: Uuid;
  subject_user_id: Uuid | null;
  context: Record<string, unknown>;
}

export type ModerationVerb = "hide" | "restore" | "suspend" | "unsuspend" | "dismiss";

export interface ModerationAction {
  id: Uuid;
  actor_id: Uuid | null;
  actor_role: string;
  action: string;
  target_type: ReportTarget;
  target_id: Uuid;
  subject_user_id: Uuid | null;
  report_id: Uuid | null;
  reason: string;
  created_at: string;
}

// --- notifications -------------------------------------------------------------------------------
export type NotificationKind =
  | "new_follower" | "reply" | "mention" | "moderation" | "clip_ready" | "clip_failed"
  | "collaboration_invited" | "creator_admission_changed" | "commission_pending" | "commission_payable"
  | "payout_created" | "payout_paid" | "payout_failed";

export interface Notification {
  id: Uuid;
  kind: NotificationKind;
  title: string;
  body: string;
  data: Record<string, unknown>;
  read: boolean;
  read_at: string | null;
  created_at: string;
}

export interface NotificationPage extends CursorPage<Notification> {
  unread_count: number;
}

// --- search and profiles -----------------------------------------------------------------------
export type SearchType = "clips" | "products" | "creators" | "hashtags";

export interface SearchHit {
  type: string;
  id?: Uuid | null;
  title: string;
  score: number;
  creator_id?: Uuid | null;
  handle?: string | null;
  hashtags?: string[] | null;
  tag?: string | null;
  clips?: number | null;
  brand?: string | null;
  sku_id?: Uuid | null;
  price_minor?: number | null;
  currency?: string | null;
  available?: number | null;
  availability?: string | null;
  followers?: number | null;
  likes?: number | null;
  views?: number | null;
  comments?: number | null;
}

export interface Suggestion {
  type: string;
  text: string;
  id?: Uuid | null;
  handle?: string | null;
  tag?: string | null;
  score: number;
}

export interface Storyboard {
  vtt: string;
  sprite: string;
  interval_s: number;
  tile_width: number;
  tile_height: number;
  columns: number;
  rows: number;
  count: number;
}

export interface ClipCard {
  id: Uuid;
  caption: string;
  duration_ms: number | null;
  playback: { hls: string | null; mp4: string | null; poster: string | null; thumbnails: Record<string, Record<string, string>> };
  created_at: string;
}

export interface CreatorProfile {
  user_id: Uuid;
  handle: string;
  display_name: string;
  bio: string | null;
  avatar: { jpeg: Record<string, string>; webp: Record<string, string> } | null;
  follower_count: number;
  clip_count: number;
  programme_member: boolean;
  following: boolean | null;
  storefront_url: string;
  clips: CursorPage<ClipCard>;
}

export interface SkuOffer {
  sku_id: Uuid;
  sku: string;
  price_minor: number;
  currency: string;
  available: number;
  availability: string;
}

export interface ProductCard {
  product_id: Uuid;
  organisation_id: Uuid;
  title: string;
  brand: string | null;
  category: string | null;
  image_url: string | null;
  interests: string[];
  skus: SkuOffer[];
}

export interface StorefrontItem extends ProductCard {
  price_minor: number;
  currency: string;
  in_stock: boolean;
  units_sold: number;
  pinned: boolean;
  hidden: boolean;
  clips: { clip_id: Uuid; tag_id: Uuid; sku_id: Uuid }[];
  buy: { clip_id: Uuid; tag_id: Uuid; sku_id: Uuid };
}

export interface IdeaList {
  id: Uuid;
  creator_id: Uuid;
  handle: string;
  name: string;
  description: string | null;
  position: number;
  share_url: string;
  items: ProductCard[];
  created_at: string;
  updated_at: string;
}

// --- creator programme -------------------------------------------------------------------------
export type AdmissionStatus = "admitted" | "waitlisted" | "rejected" | "suspended";

export interface Admission {
  creator_id: Uuid;
  status: AdmissionStatus;
  category: string;
  evaluation: { criterion: string; value: number; threshold: number; passed: boolean; reason: string; improve: string | null }[];
  evaluated_at: string;
  next_evaluation_at: string | null;
  decided_by_operator: boolean;
  note: string | null;
}

export interface OpenProduct extends ProductCard {
  rate_bps: number;
  rate_source: string;
  collaboration_ids: Uuid[];
  tag_with: string;
}

export type InvitationStatus = "invited" | "accepted" | "declined";

export interface MyCollaboration {
  collaboration_id: Uuid;
  organisation_id: Uuid;
  product_id: Uuid | null;
  rate_bps: number;
  brief: string | null;
  ends_at: string | null;
  live: boolean;
  status: InvitationStatus;
  decided_at: string | null;
}

export interface Collaboration {
  id: Uuid;
  organisation_id: Uuid;
  kind: "open" | "targeted";
  product_id: Uuid | null;
  rate_bps: number;
  brief: string | null;
  ends_at: string | null;
  ended_at: string | null;
  live: boolean;
  created_at: string;
  invitations: { creator_id: Uuid; handle: string; status: InvitationStatus; decided_at: string | null }[];
}

export interface Rates {
  default_rate_bps?: number | null;
  return_window_days?: number | null;
  category_rates?: Record<string, number>;
  product_rates?: Record<string, number>;
  platform_default_rate_bps?: number;
  platform_return_window_days?: number;
}

export interface Earnings {
  creator_id: Uuid;
  admission_status: AdmissionStatus | null;
  balances: { currency: string; pending_minor: number; payable_minor: number; in_payout_minor: number; paid_minor: number }[];
}

export interface LedgerEntry {
  id: number;
  created_at: string;
  kind: "commission" | "release" | "reversal" | "payout" | "payout_paid" | "payout_failed";
  currency: string;
  amount_minor: number;
  order_id: Uuid | null;
  clip_id: Uuid | null;
  memo: string | null;
}

export interface Payout {
  id: Uuid;
  run_id: Uuid;
  creator_id: Uuid;
  handle?: string | null;
  currency: string;
  amount_minor: number;
  entry_count: number;
  status: "created" | "paid" | "failed";
  provider_reference: string | null;
  created_at: string;
  paid_at: string | null;
  failed_at: string | null;
}

export interface PayoutRun {
  id: Uuid;
  key: string;
  threshold_minor: number;
  created_at: string;
  payouts: Payout[];
  csv_url: string;
}

// --- analytics ---------------------------------------------------------------------------------
export interface Figures {
  impressions: number;
  reach: number | null;
  views: number;
  avg_watch_ms: number | null;
  completion_rate: number | null;
  likes: number;
  shares: number;
  comments: number | null;
  follows: number;
  engagement_rate: number | null;
  product_taps: number;
  tap_through_rate: number | null;
  add_to_carts: number;
  orders: number;
  units: number;
  revenue_minor: number;
  currency: string | null;
  revenue_by_currency: { currency: string; revenue_minor: number }[];
  conversion_rate: number | null;
  commission_minor: number | null;
  roi: number | null;
  filtered: { impressions: number; views: number; likes: number; shares: number; follows: number; completes: number };
}

export interface Period {
  start: string;
  end: string;
  tz: string;
}

export interface Authenticity {
  score: number;
  flagged_share: number;
  flags: { code: string; detail: string; share: number }[];
  period?: Period;
}

export interface CreatorDashboard {
  period: Period;
  totals: Figures;
  daily: (Figures & { day: string })[];
  clips: (Figures & { clip_id: Uuid })[];
  audience: {
    engaged_viewers: number;
    viewer_interests: { interest: string; share: number }[];
    new_viewers: number;
    returning_viewers: number;
    followers: number;
    follower_growth: { day: string; follows: number }[];
  };
  authenticity: Authenticity;
}

/** A seller's sales of the merchant's own products in the period (what the top rows are ranked by). */
export interface MerchantSales {
  orders: number;
  units: number;
  revenue_minor: number;
  currency: string | null;
  commission_minor: number | null;
}

export interface MerchantDashboard {
  period: Period;
  totals: Figures;
  daily: (Figures & { day: string })[];
  skus: (Figures & { sku_id: Uuid; product_id: Uuid; code: string; title: string })[];
  top_clips: (Figures & { clip_id: Uuid; merchant_sales?: MerchantSales | null })[];
  top_creators: (Figures & { creator_id: Uuid; handle: string | null; merchant_sales?: MerchantSales | null })[];
}

export interface DiscoveredCreator {
  creator_id: Uuid;
  handle: string;
  display_name: string;
  followers: number;
  audience_match: number;
  engagement_rate: number | null;
  conversion_rate: number | null;
  authenticity: Authenticity;
  relevance: number;
  evidence: {
    period: Period;
    impressions: number;
    likes: number;
    shares: number;
    product_taps: number;
    orders: number;
    revenue_minor: number;
    currency: string | null;
    top_audience_interests: { interest: string; share: number }[];
  };
}

export interface ShortlistEntry {
  creator_id: Uuid;
  handle: string | null;
  note: string | null;
  created_at: string;
  authenticity?: number | null;
}

// --- admin: thresholds, blocked words, analytics overview ----------------------------------------
export interface Thresholds {
  category: string;
  thresholds: Record<string, number>;
}

export interface BlockedWord {
  id: Uuid;
  word: string;
  created_at: string;
}

export interface AdminOverview {
  period: Period;
  totals: Figures;
  daily: (Figures & { day: string })[];
  top_creators: (Figures & { creator_id: Uuid; handle: string | null })[];
  flagged_accounts: number;
}

export interface FlaggedAccount {
  user_id: Uuid;
  flags: number;
  codes: string[];
  detail: string | null;
  flagged_at: string | null;
  engagements: number;
  last_seen_at: string;
}

// --- outbound webhooks -------------------------------------------------------------------------
export interface WebhookEndpoint {
  id: Uuid;
  url: string;
  description: string | null;
  event_types: string[];
  active: boolean;
  secret: string;
  created_at: string;
}

export interface WebhookDelivery {
  id: Uuid;
  message_id: string;
  event_type: string;
  status: "pending" | "succeeded" | "failed";
  attempts: number;
  next_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
  payload: Record<string, unknown>;
  log: { attempted_at: string; status_code: number | null; duration_ms: number; error: string | null; response_body: string | null }[];
}

// --- creator: shares, analytics of one product or SKU --------------------------------------------
export interface SharePage extends CursorPage<Share> {
  totals: { shares: number; opens: number; views: number; purchases: number; revenue_minor: number };
}

export interface EntityReport {
  entity: { kind: string; id: Uuid };
  period: Period;
  totals: Figures;
  daily: (Figures & { day: string })[];
}

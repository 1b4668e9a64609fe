// Creator studio: upload with a real progress bar, processing progress until playable, failure
// reasons in plain words, and the list of the creator's clips (each opens the tagging editor).
import { api, problemText } from "../../core/api";
import { announce, h, replace, toast } from "../../core/dom";
import { t, type Key } from "../../core/i18n";
import type { Clip } from "../../core/types";
import type { Screen } from "../../main";
import { focusSelectedTab, tabBar } from "../../core/tabs";
import { uploadFile } from "./upload";

export function failureText(clip: Pick<Clip, "failure_code" | "failure_message">): string {
  const key = `fail.${clip.failure_code}` as Key;
  const plain = t(key);
  return plain === key ? t("fail.unknown") : plain;
}

function statusLine(clip: Clip): HTMLElement {
  if (clip.status === "processing") {
    return h(
      "div",
      { class: "status processing" },
      h("label", { for: `p-${clip.id}` }, t("studio.processing", { pct: clip.processing_progress })),
      h("progress", { id: `p-${clip.id}`, max: 100, value: clip.processing_progress }),
    );
  }
  if (clip.status === "failed") {
    return h("p", { class: "status failed", role: "alert" }, `${t("studio.failed")}: ${failureText(clip)}`);
  }
  if (clip.status === "ready") return h("p", { class: "status ready" }, t("studio.ready"));
  return h("p", { class: "status" }, t(`status.${clip.status}` as Key));
}

const TABS: [string, Key][] = [
  ["clips", "studio.myClips"],
  ["programme", "programme.title"],
  ["collaborations", "collab.title"],
  ["earnings", "earnings.title"],
  ["analytics", "analytics.title"],
  ["storefront", "shopfront.tab"],
  ["shares", "shares.title"],
  ["webhooks", "hooks.title"],
];

const screen: Screen = {
  async mount(root, params) {
    const tab = TABS.some(([n]) => n === params.tab) ? params.tab : "clips";
    const panel = h("div", { id: "studio-panel", role: "tabpanel", "aria-labelledby": `tab-${tab}` });
    replace(root, h("h1", null, t("studio.title")), tabBar("/app/studio", TABS, tab, t("studio.title"), "studio-panel"), panel);
    focusSelectedTab(root);
    if (tab === "programme") return (await import("./programme")).mountProgramme(panel);
    if (tab === "collaborations") return (await import("./collaborations")).mountCollaborations(panel);
    if (tab === "earnings") return (await import("./earnings")).mountEarnings(panel);
    if (tab === "analytics") return (await import("./analytics")).mountAnalytics(panel);
    if (tab === "storefront") return (await import("./storefront")).mountStorefront(panel);
    if (tab === "shares") return (await import("./shares")).mountShares(panel);
    if (tab === "webhooks") return (await import("../webhooks/webhooks")).mountWebhooks(panel, "/v1/me/webhooks");
    return clipsTab(panel);
  },
};

async function clipsTab(root: HTMLElement): Promise<() => void> {
  {
    let timer = 0;
    let disposed = false;
    const clipsList = h("ul", { class: "clip-list", "aria-live": "polite" });
    const interests = h("select", { id: "up-interests", multiple: true, size: 5 });
    const file = h("input", { id: "up-file", type: "file", accept: "video/*", required: true });
    const caption = h("textarea", { id: "up-caption", rows: 2, maxLength: 2200 });
    const bar = h("progress", { id: "up-progress", max: 100, value: 0 });
    const barLabel = h("label", { for: "up-progress" }, t("studio.uploading", { pct: 0 }));
    const progress = h("div", { class: "upload-progress", hidden: true }, barLabel, bar);
    const send = h("button", { type: "submit", class: "primary" }, t("studio.send"));
    const form = h(
      "form",
      {
        class: "card-form",
        "aria-labelledby": "upload-title",
        onsubmit: async (e: Event) => {
          e.preventDefault();
          const chosen = file.files?.[0];
          if (!chosen) return;
          send.disabled = true;
          progress.hidden = false;
          try {
            const clip = await uploadFile(
              chosen,
              { caption: caption.value, interests: [...interests.selectedOptions].map((o) => o.value) },
              ({ sent, total, retryingPart }) => {
                const pct = Math.floor((sent / Math.max(1, total)) * 100);
                bar.value = pct;
                barLabel.textContent = retryingPart ? t("studio.resuming", { part: retryingPart }) : t("studio.uploading", { pct });
              },
            );
            barLabel.textContent = t("studio.uploaded");
            announce(t("studio.uploaded"));
            form.reset();
            await refresh();
            void clip;
          } catch (error) {
            toast(t("common.error", { detail: problemText(error) }), "error");
            barLabel.textContent = problemText(error);
          } finally {
            send.disabled = false;
          }
        },
      },
      h("h2", { id: "upload-title" }, t("studio.upload")),
      h("label", { for: "up-file" }, t("studio.file")),
      file,
      h("label", { for: "up-caption" }, t("studio.caption")),
      caption,
      h("label", { for: "up-interests" }, t("studio.interests")),
      interests,
      send,
      progress,
    );
    replace(
      root,
      h("div", { class: "two-col" }, form, h("section", { "aria-labelledby": "clips-title" }, h("h2", { id: "clips-title" }, t("studio.myClips")), clipsList)),
    );

    void api.interests().then((tree) => {
      for (const node of tree.items) {
        const group = h("optgroup", { label: node.name });
        for (const child of node.children) group.appendChild(h("option", { value: child.slug }, child.name));
        interests.appendChild(group);
      }
    });

    async function refresh(): Promise<void> {
      window.clearTimeout(timer);
      if (disposed) return;
      try {
        const page = await api.myClips();
        const clips = page.items.filter((c) => c.status !== "deleted");
        replace(
          clipsList,
          clips.length
            ? clips.map((clip) =>
                h(
                  "li",
                  { class: "clip-row", "data-clip": clip.id, "data-status": clip.status },
                  clip.playback.poster ? h("img", { src: clip.playback.poster, alt: "", width: 54, height: 96 }) : h("span", { class: "thumb" }),
                  h(
                    "div",
                    null,
                    h("p", { class: "clip-caption" }, clip.caption || clip.id.slice(0, 8)),
                    statusLine(clip),
                    clip.status === "ready"
                      ? h("a", { href: `/app/studio/clips/${clip.id}`, "data-nav": "", class: "button" }, t("studio.tag"))
                      : null,
                  ),
                ),
              )
            : h("li", { class: "muted" }, t("studio.noClips")),
        );
        if (clips.some((c) => c.status === "processing")) timer = window.setTimeout(refresh, 1500);
      } catch (error) {
        toast(t("common.error", { detail: problemText(error) }), "error");
      }
    }
    await refresh();
    return () => {
      disposed = true;
      window.clearTimeout(timer);
    };
  }
}

export default screen;

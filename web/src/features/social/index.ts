// The social layer the feed loads on demand (not part of its first load): comments in a sheet,
// share, the "more" menu (report, block) and polls.
import { modal } from "../../core/dom";
import { t } from "../../core/i18n";
import { commentsPanel, type ClipRef } from "./comments";

export { blockCreator, moreDialog, reportDialog, shareDialog } from "./actions";
export { mountPolls } from "./polls";

export function commentsDialog(clip: ClipRef): void {
  const { body } = modal(t("comments.title"), t("common.close"));
  body.append(commentsPanel(clip, null));
  (body.querySelector("textarea, a, button") as HTMLElement | null)?.focus();
}

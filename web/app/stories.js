// The Stories tray and viewer. Expiry follows the server's clock, never the device's: a Story
// leaves the screen at its expires_at by ServerClock, and every refresh re-reads that clock.
import { show } from "./media.js";

export class Stories {
  constructor(api, clock, tray, viewer, refreshSeconds) {
    Object.assign(this, { api, clock, tray, viewer });
    this.open = null; // the author whose Stories the viewer shows
    viewer.querySelector(".close").addEventListener("click", () => this.close());
    setInterval(() => this.refresh(), refreshSeconds * 1000);
  }

  async refresh() {
    const tray = await this.api.call("GET", "/stories/tray", { fresh: true });
    const live = tray.items.filter((entry) => entry.expires_at > this.clock.now());
    this.tray.replaceChildren(
      ...live.map((entry) => {
        const ring = Object.assign(document.createElement("button"), {
          type: "button",
          className: entry.unseen ? "ring unseen" : "ring",
          textContent: entry.author_id,
        });
        ring.dataset.author = entry.author_id;
        ring.addEventListener("click", () => this.view(entry.author_id));
        return this.hideAt(ring, entry.expires_at);
      }),
    );
    if (this.open) await this.view(this.open);
  }

  /** Removes ``node`` when the server's clock reaches ``expiresAt``. */
  hideAt(node, expiresAt) {
    setTimeout(() => node.remove(), Math.max(0, (expiresAt - this.clock.now()) * 1000));
    return node;
  }

  async view(authorId) {
    this.open = authorId;
    const { items } = await this.api.call("GET", `/users/${authorId}/stories`, { fresh: true });
    const live = items.filter((story) => story.expires_at > this.clock.now());
    const slot = this.viewer.querySelector(".story-media");
    const story = live[0];
    if (!story) {
      this.close();
      return;
    }
    if (slot.dataset.storyId !== story.story_id) {
      slot.dataset.storyId = story.story_id;
      show(this.api, slot, story.media_id);
      this.api.call("PUT", `/stories/${authorId}/${story.story_id}/seen`).catch(() => {});
    }
    const left = Math.round(story.expires_at - this.clock.now());
    this.viewer.querySelector(".story-meta").textContent = `${authorId} · ${live.length} live · ${left}s left`;
    // At its expiry the viewer asks again: the next Story, or none and it closes.
    clearTimeout(this.expiry);
    const untilExpiry = Math.max(0, (story.expires_at - this.clock.now()) * 1000);
    this.expiry = setTimeout(() => this.open === authorId && this.view(authorId), untilExpiry);
    if (!this.viewer.open) this.viewer.showModal();
  }

  close() {
    this.open = null;
    clearTimeout(this.expiry);
    const slot = this.viewer.querySelector(".story-media");
    slot.replaceChildren();
    delete slot.dataset.storyId;
    if (this.viewer.open) this.viewer.close();
  }
}

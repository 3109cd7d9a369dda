// Aperture's web client: sign in, the home feed, Stories, Explore and uploads.
import { Api, ServerClock } from "./api.js";
import { claims, devLogin, finishHostedSignIn, startHostedSignIn, storedToken } from "./auth.js";
import { show, shown } from "./media.js";
import { LikeButton } from "./likes.js";
import { Stories } from "./stories.js";

const $ = (selector) => document.querySelector(selector);
const element = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
};

async function signIn(api, config) {
  const token = storedToken() || (config.auth.kind === "cognito" ? await finishHostedSignIn(config.auth) : null);
  if (token) return token;
  const form = $("#signin");
  form.hidden = false;
  if (config.auth.kind !== "dev") form.querySelectorAll(".dev-only").forEach((node) => node.remove());
  return new Promise((resolve) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (config.auth.kind === "dev") resolve(await devLogin(api, form.user_id.value));
      else await startHostedSignIn(config.auth);
    });
  });
}

/** A first sign-in has no profile yet: make one from the user id. */
async function ensureProfile(api, userId) {
  try {
    return await api.call("GET", `/users/${userId}`);
  } catch (error) {
    if (error.status !== 404) throw error;
    const username = userId.replace(/^u_/, "").toLowerCase().replace(/[^a-z0-9._]/g, "_").slice(0, 30);
    return api.create("/users", { username: username.padEnd(3, "_") });
  }
}

function postCard(api, post) {
  const mediaSlot = element("div", { className: "media" });
  const likes = new LikeButton(api, post);
  mediaSlot.addEventListener("dblclick", () => likes.like()); // a double tap on the photo likes it
  const card = element(
    "li",
    { className: "post", id: `post-${post.post_id}` },
    element("p", { className: "author", textContent: post.author_id }),
    mediaSlot,
    element("p", { className: "caption", textContent: post.caption }),
    likes.element,
  );
  card.dataset.postId = post.post_id;
  const cover = post.media_items[0];
  if (cover) show(api, mediaSlot, cover.media_id, cover.alt_text);
  return card;
}

/** The home feed, a page at a time as the reader nears its end. */
function homeFeed(api) {
  const list = $("#feed");
  const end = $("#feed-end");
  let cursor = null;
  let loading = false;
  let done = false;
  let generation = 0; // which refresh the list shows: a page asked for before one is dropped
  // aria-busy while a page is on its way: screen readers wait for it, and so do the browser tests
  const loadMore = async () => {
    if (loading || done) return;
    loading = true;
    list.setAttribute("aria-busy", "true");
    const asked = generation;
    let page;
    try {
      const query = new URLSearchParams({ limit: "10", ...(cursor ? { cursor } : {}) });
      page = await api.call("GET", `/feed?${query}`);
    } catch (error) {
      list.removeAttribute("aria-busy");
      throw error;
    } finally {
      loading = false;
    }
    if (asked !== generation) return loadMore(); // refreshed meanwhile: that refresh's first page
    list.append(...page.items.map((post) => postCard(api, post)));
    cursor = page.next_cursor;
    done = !cursor;
    end.textContent = done ? (list.children.length ? "You're all caught up." : "Nothing here yet: follow someone.") : "";
    list.removeAttribute("aria-busy");
  };
  new IntersectionObserver((seen) => seen.some((entry) => entry.isIntersecting) && loadMore()).observe(end);
  return {
    refresh: () => {
      generation += 1;
      list.replaceChildren();
      list.setAttribute("aria-busy", "true"); // until the first page is drawn, even if one is on its way
      cursor = null;
      done = false;
      return loadMore();
    },
  };
}

// This app open, for Explore's context: the server dates it from its first page, ranks with what
// was done since, and on a slow network (as the browser estimates it) shows fewer videos.
const appOpen = `w${crypto.randomUUID().replaceAll("-", "")}`;

function exploreQuery() {
  const query = new URLSearchParams({ session_id: appOpen });
  const network = navigator.connection?.effectiveType;
  if (["4g", "3g", "2g", "slow-2g"].includes(network)) query.set("network", network);
  return query;
}

async function explore(api) {
  const page = await api.call("GET", `/explore?${exploreQuery()}`);
  $("#explore-note").textContent = page.fallbacks.length
    ? `Fallbacks: ${page.fallbacks.join(", ")}`
    : `Ranked by model ${page.model_version}`;
  $("#explore-grid").replaceChildren(
    ...page.items.map((item) => {
      const slot = element("div", { className: "media" });
      const cover = item.media_items[0];
      if (item.media) slot.append(shown(item.media, cover.alt_text)); // the page carries its covers
      const why = `${item.reason.source} · ${item.reason.score.toFixed(2)}`;
      return element("li", { className: "tile", title: item.author_id }, slot, element("p", { className: "reason", textContent: why }));
    }),
  );
}

function uploads(api, onShared) {
  const form = $("#upload");
  const progress = $("#upload-progress");
  const state = $("#upload-state");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = form.file.files[0];
    const asStory = form.as.value === "story";
    try {
      const intent = await api.create("/uploads", { content_type: file.type, size: file.size });
      progress.hidden = false;
      state.textContent = "uploading";
      await api.postFile(intent.upload, file, (fraction) => (progress.value = fraction));
      state.textContent = "processing";
      // A post may wait for its media (it publishes once the media is ready and approved); a
      // Story needs the media ready first.
      if (!asStory) await api.create("/posts", { media_id: intent.media_id, caption: form.caption.value });
      const final = await show(api, $("#upload-preview"), intent.media_id);
      if (asStory && final === "ready") await api.create("/stories", { media_id: intent.media_id });
      state.textContent = final === "ready" ? (asStory ? "Story shared" : "shared") : `not shared: ${final}`;
      form.reset();
      onShared();
    } catch (error) {
      state.textContent = `failed: ${error.message}`;
    }
  });
}

function tabs(panels) {
  const buttons = document.querySelectorAll("nav button");
  buttons.forEach((button) =>
    button.addEventListener("click", () => {
      buttons.forEach((other) => other.setAttribute("aria-pressed", String(other === button)));
      document.querySelectorAll("[data-panel]").forEach((panel) => (panel.hidden = panel.dataset.panel !== button.dataset.tab));
      panels[button.dataset.tab]?.();
    }),
  );
}

async function main() {
  const config = await (await fetch("./config.json", { cache: "no-store" })).json();
  const clock = new ServerClock();
  const api = new Api(config.api, clock);
  await api.call("GET", "/health", { auth: false }); // the server's time, before any Story is shown
  api.token = await signIn(api, config);
  const me = claims(api.token).sub;
  await ensureProfile(api, me);
  $("#signin").hidden = true;
  $("#me").textContent = me;
  document.querySelector("nav").hidden = false;
  $("main").hidden = false;

  const feed = homeFeed(api);
  const stories = new Stories(api, clock, $("#tray"), $("#story-viewer"), config.refresh_seconds ?? 30);
  tabs({ home: () => (feed.refresh(), stories.refresh()), explore: () => explore(api) });
  uploads(api, () => stories.refresh());
  await Promise.all([feed.refresh(), stories.refresh()]);
  document.body.dataset.ready = "true";
}

main().catch((error) => {
  document.body.dataset.error = error.message;
  document.body.prepend(element("p", { className: "error", role: "alert", textContent: error.message }));
});

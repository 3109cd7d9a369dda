// A media item as a person sees it: its ThumbHash while it processes, then the best picture the
// browser shows (AVIF, WebP or JPEG through <picture>), or its video through HLS.
import Hls from "hls.js";
import { thumbHashToDataURL } from "thumbhash";

const FORMATS = [
  ["AVIF", "image/avif"],
  ["WEBP", "image/webp"],
];
const POLL_MS = 1000;

const SIZES = "(max-width: 640px) 100vw, 600px"; // the feed's column

/** The media's ThumbHash (base64 in the API) as an image URL. */
const thumbhashUrl = (media) => thumbHashToDataURL(Uint8Array.from(atob(media.thumbhash), (c) => c.charCodeAt(0)));

function placeholder(media) {
  const img = document.createElement("img");
  img.className = "placeholder";
  img.alt = "";
  img.src = thumbhashUrl(media);
  if (media.width && media.height) img.style.aspectRatio = `${media.width} / ${media.height}`;
  return img;
}

function srcset(renditions, format) {
  return renditions
    .filter((r) => r.format.toUpperCase() === format)
    .sort((a, b) => a.width - b.width)
    .map((r) => `${r.url} ${r.width}w`)
    .join(", ");
}

function picture(media, altText = "") {
  const shown = media.renditions.filter((r) => r.name !== "thumb" || media.renditions.length === 1);
  const element = document.createElement("picture");
  for (const [format, type] of FORMATS) {
    const set = srcset(shown, format);
    if (!set) continue;
    const source = document.createElement("source");
    Object.assign(source, { type, srcset: set, sizes: SIZES });
    element.append(source);
  }
  const img = document.createElement("img");
  const jpegs = shown.filter((r) => r.format.toUpperCase() === "JPEG").sort((a, b) => b.width - a.width);
  img.src = (jpegs[0] || shown[0]).url;
  img.srcset = srcset(shown, "JPEG");
  img.sizes = SIZES;
  img.alt = altText;
  img.width = media.width;
  img.height = media.height;
  img.decoding = "async";
  if (media.thumbhash) img.style.backgroundImage = `url(${thumbhashUrl(media)})`;
  element.append(img);
  return element;
}

function video(media) {
  const element = document.createElement("video");
  Object.assign(element, { controls: true, muted: true, playsInline: true, preload: "metadata" });
  element.width = media.width;
  element.height = media.height;
  if (media.thumbhash) element.poster = thumbhashUrl(media);
  const { hls_url: hlsUrl, mp4_url: mp4Url } = media.playback;
  if (hlsUrl && Hls.isSupported()) {
    // hls.js (Media Source Extensions) where it runs, as its authors advise: it picks rungs by
    // measured bandwidth and drops those this browser cannot decode (AV1 without a decoder).
    const hls = new Hls();
    hls.loadSource(hlsUrl);
    hls.attachMedia(element);
    hls.on(Hls.Events.LEVEL_SWITCHED, (_, { level }) => (element.dataset.codec = hls.levels[level].videoCodec));
    element.dataset.player = "hls.js";
  } else if (hlsUrl && element.canPlayType("application/vnd.apple.mpegurl")) {
    element.src = hlsUrl; // the browser's own HLS (Safari on iPhones without MSE)
    element.dataset.player = "native-hls";
  } else {
    element.src = mp4Url; // the fast-start MP4, until the ladder is made
    element.dataset.player = "mp4";
  }
  return element;
}

/** Media that is ready, as the page shows it. */
export function shown(media, altText = "") {
  return media.kind === "video" && media.playback ? video(media) : picture(media, altText);
}

const FINAL = {
  ready: "ready",
  blocked: "This was removed: it breaks the community guidelines.",
  review: "Held for review.",
  failed: "This file could not be processed.",
  expired: "The upload was never finished.",
};

/** What the viewer may make of a record: its owner sees it ready before moderation decides. */
function shownState(media) {
  if (media.state !== "ready" || media.owner_id === undefined) return media.state;
  const verdict = media.moderation?.verdict;
  if (verdict === "blocked" || verdict === "review") return verdict;
  return verdict ? "ready" : "moderating";
}

/** Fills ``slot`` with the media, polling while it processes; resolves with its final state. */
export async function show(api, slot, mediaId, altText = "") {
  slot.dataset.mediaId = mediaId;
  for (;;) {
    let media;
    try {
      media = await api.call("GET", `/media/${mediaId}`);
    } catch (error) {
      if (error.status !== 404) throw error;
      slot.replaceChildren(); // blocked or deleted: shown nowhere
      slot.dataset.state = "gone";
      return "gone";
    }
    const state = shownState(media);
    slot.dataset.state = state;
    if (state === "ready" && !slot.querySelector("picture, video")) slot.replaceChildren(shown(media, altText));
    if (FINAL[state]) {
      if (state !== "ready") slot.replaceChildren(Object.assign(document.createElement("p"), { textContent: FINAL[state] }));
      return state;
    }
    if (media.thumbhash && !slot.querySelector(".placeholder")) slot.replaceChildren(placeholder(media));
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

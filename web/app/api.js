// The API, as the app calls it: bearer token, JSON, an Idempotency-Key per create reused by its
// retries, waits as long as Retry-After says, and the server's clock read off its answers.

const RETRIED = new Set([429, 502, 503, 504]);
const ATTEMPTS = 4;

export class ApiError extends Error {
  constructor(status, code, message) {
    super(`${status} ${code}: ${message}`);
    this.status = status;
    this.code = code;
  }
}

/** The server's time, from the server_time its answers carry: the phone's clock may be wrong. */
export class ServerClock {
  constructor() {
    this.offsetSeconds = 0;
    this.observed = false;
  }

  observe(serverTime, sentAt, receivedAt) {
    // The server read its clock somewhere between sending and receiving: take the middle. An
    // answer from the HTTP cache carries an older time, so the estimate only moves forward.
    const offset = serverTime - (sentAt + receivedAt) / 2000;
    this.offsetSeconds = this.observed ? Math.max(this.offsetSeconds, offset) : offset;
    this.observed = true;
  }

  now() {
    return Date.now() / 1000 + this.offsetSeconds;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class Api {
  constructor(baseUrl, clock) {
    this.baseUrl = baseUrl.replace(/\/$/, "");
    this.clock = clock;
    this.token = null;
  }

  /** A create: one Idempotency-Key for every attempt, so a retried create happens once. */
  create(path, body) {
    return this.call("POST", path, { body, idempotencyKey: crypto.randomUUID() });
  }

  /** ``fresh``: ask the server even where the HTTP cache holds an answer (a poll). */
  async call(method, path, { body, idempotencyKey, auth = true, fresh = false } = {}) {
    const headers = {};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (auth && this.token) headers.Authorization = `Bearer ${this.token}`;
    if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
    for (let attempt = 1; ; attempt++) {
      const sentAt = Date.now();
      let response;
      try {
        response = await fetch(this.baseUrl + path, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          cache: fresh ? "no-cache" : "default",
        });
      } catch (lost) {
        if (attempt >= ATTEMPTS) throw lost;
        await sleep(250 * 2 ** attempt);
        continue;
      }
      if (RETRIED.has(response.status) && attempt < ATTEMPTS) {
        const wait = Number(response.headers.get("Retry-After") || 2 ** attempt / 4);
        await sleep(wait * 1000);
        continue;
      }
      const answer = await response.json().catch(() => ({}));
      if (!response.ok) {
        const error = answer.error || {};
        throw new ApiError(response.status, error.code || "Error", error.message || response.statusText);
      }
      if (typeof answer.server_time === "number") this.clock.observe(answer.server_time, sentAt, Date.now());
      return answer;
    }
  }

  /** Sends a file to the presigned POST the upload intent gave, reporting progress (0 to 1). */
  postFile(upload, file, onProgress) {
    const form = new FormData();
    for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
    form.append("file", file); // S3 ignores every field after the file: it goes last
    return new Promise((resolve, reject) => {
      const request = new XMLHttpRequest();
      request.open("POST", upload.url);
      request.upload.onprogress = (event) => event.lengthComputable && onProgress(event.loaded / event.total);
      request.onload = () =>
        request.status < 300 ? resolve() : reject(new ApiError(request.status, "UploadRefused", request.responseText));
      request.onerror = () => reject(new ApiError(0, "UploadFailed", "the upload did not reach storage"));
      request.send(form);
    });
  }
}

// A like, shown at once and sent in the background. A like is a PUT of the caller's state,
// idempotent by (user, post) on the server; taps while one is in flight only change what the
// next request asks for, so a double tap sends at most two and counts once.

export class LikeButton {
  constructor(api, post) {
    this.api = api;
    this.postId = post.post_id;
    this.confirmed = { liked: false, count: post.like_count };
    this.wanted = false;
    this.inFlight = false;
    this.element = Object.assign(document.createElement("button"), { type: "button", className: "like" });
    this.element.addEventListener("click", () => this.set(!this.wanted));
    this.render();
  }

  like() {
    this.set(true);
  }

  set(liked) {
    this.wanted = liked;
    this.render();
    this.flush();
  }

  async flush() {
    if (this.inFlight || this.wanted === this.confirmed.liked) return;
    this.inFlight = true;
    const wanted = this.wanted;
    this.element.dataset.pending = "true";
    try {
      const answer = await this.api.call(wanted ? "PUT" : "DELETE", `/posts/${this.postId}/like`);
      this.confirmed = { liked: answer.liked, count: answer.like_count };
    } catch (error) {
      this.wanted = this.confirmed.liked; // the server said no: show what holds
      this.element.title = error.message;
    } finally {
      this.inFlight = false;
      delete this.element.dataset.pending;
    }
    this.render();
    this.flush(); // taps that came in meanwhile
  }

  render() {
    const { liked, count } = this.confirmed;
    const shown = count + (this.wanted === liked ? 0 : this.wanted ? 1 : -1);
    this.element.setAttribute("aria-pressed", String(this.wanted));
    this.element.textContent = `${this.wanted ? "♥" : "♡"} ${shown}`;
    this.element.dataset.count = String(shown);
  }
}

// Signing in: the local stack's development login, or Cognito's hosted UI (authorization code
// with PKCE) in AWS. The ID token lives for the tab's session only.

const STORED = "aperture.id_token";

const base64url = (bytes) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

/** The claims of a JWT; the API verifies its signature, the app only reads whose it is. */
export function claims(token) {
  const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(atob(payload));
}

export function storedToken() {
  const token = sessionStorage.getItem(STORED);
  if (token && claims(token).exp * 1000 > Date.now()) return token;
  sessionStorage.removeItem(STORED);
  return null;
}

export async function devLogin(api, userId) {
  const answer = await api.call("POST", "/auth/token", {
    body: { user_id: userId, lifetime_seconds: 86400 },
    auth: false,
  });
  sessionStorage.setItem(STORED, answer.id_token);
  return answer.id_token;
}

const redirectUri = () => `${location.origin}${location.pathname}`;

export async function startHostedSignIn(cognito) {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  sessionStorage.setItem("aperture.pkce", JSON.stringify({ verifier, state }));
  const query = new URLSearchParams({
    response_type: "code",
    client_id: cognito.client_id,
    redirect_uri: redirectUri(),
    scope: "openid email",
    state,
    code_challenge_method: "S256",
    code_challenge: challenge,
  });
  location.assign(`${cognito.domain}/oauth2/authorize?${query}`);
}

/** Back from the hosted UI with ?code=: trade it for tokens. */
export async function finishHostedSignIn(cognito) {
  const params = new URLSearchParams(location.search);
  const pending = JSON.parse(sessionStorage.getItem("aperture.pkce") || "null");
  if (!params.has("code") || !pending || params.get("state") !== pending.state) return null;
  sessionStorage.removeItem("aperture.pkce");
  const response = await fetch(`${cognito.domain}/oauth2/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: cognito.client_id,
      code: params.get("code"),
      redirect_uri: redirectUri(),
      code_verifier: pending.verifier,
    }),
  });
  if (!response.ok) throw new Error(`sign-in failed: ${response.status}`);
  const tokens = await response.json();
  sessionStorage.setItem(STORED, tokens.id_token);
  history.replaceState(null, "", redirectUri());
  return tokens.id_token;
}

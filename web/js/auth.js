// Accounts, straight against the user pool's own JSON API (Cognito's, or the local
// stack's on :3002): SignUp, ConfirmSignUp, InitiateAuth (password, refresh),
// RevokeToken. No Relay code sits in between.
//
// Tokens (docs/decisions.md, "The browser client"): the access and id tokens live only
// in this module's memory; the refresh token in sessionStorage, so a reload keeps the
// person signed in but closing the tab ends it, and sign-out revokes it at the pool.
// No token is ever put in a URL except the WebSocket connect URL (socket.js).

import { config } from "./config.js";

const TARGET = "AWSCognitoIdentityProviderService.";
const REFRESH_KEY = "relay.refreshToken";
const EARLY_MS = 60_000; // refresh a minute before the access token ends

export class AuthError extends Error {
  constructor(type, message) {
    super(message || type);
    this.type = type;
  }
}

const state = { accessToken: null, expiresAt: 0, timer: null, refreshing: null };
const listeners = new Set();

/** Called with true on sign-in and false on sign-out (also when a refresh fails). */
export function onSession(listener) {
  listeners.add(listener);
}

function announce(signedIn) {
  for (const listener of listeners) listener(signedIn);
}

async function cognito(operation, body) {
  const response = await fetch(config().cognitoEndpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": TARGET + operation },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  const answer = text ? JSON.parse(text) : {};
  if (!response.ok) {
    const type = String(answer.__type || "Error").split("#").pop();
    throw new AuthError(type, answer.message || answer.Message || type);
  }
  return answer;
}

function keep(result) {
  state.accessToken = result.AccessToken;
  state.expiresAt = Date.now() + (result.ExpiresIn || 3600) * 1000;
  if (result.RefreshToken) sessionStorage.setItem(REFRESH_KEY, result.RefreshToken);
  clearTimeout(state.timer);
  state.timer = setTimeout(() => refresh().catch(() => {}), Math.max(5_000, state.expiresAt - Date.now() - EARLY_MS));
}

export function signedIn() {
  return state.accessToken !== null;
}

export function signUp(email, password, handle) {
  return cognito("SignUp", {
    ClientId: config().userPoolClientId,
    Username: email,
    Password: password,
    UserAttributes: [{ Name: "preferred_username", Value: handle }],
  });
}

export function confirmSignUp(email, code) {
  return cognito("ConfirmSignUp", { ClientId: config().userPoolClientId, Username: email, ConfirmationCode: code });
}

export function resendCode(email) {
  return cognito("ResendConfirmationCode", { ClientId: config().userPoolClientId, Username: email });
}

export async function signIn(email, password) {
  const answer = await cognito("InitiateAuth", {
    ClientId: config().userPoolClientId,
    AuthFlow: "USER_PASSWORD_AUTH",
    AuthParameters: { USERNAME: email, PASSWORD: password },
  });
  if (!answer.AuthenticationResult) throw new AuthError("ChallengeNotSupported", `Sign-in asks for ${answer.ChallengeName}, which this client does not answer.`);
  keep(answer.AuthenticationResult);
  announce(true);
}

/** A new access token from the kept refresh token; false when there is none or it ended. */
export function refresh() {
  if (!state.refreshing) {
    state.refreshing = (async () => {
      const token = sessionStorage.getItem(REFRESH_KEY);
      if (!token) return false;
      try {
        const answer = await cognito("InitiateAuth", {
          ClientId: config().userPoolClientId,
          AuthFlow: "REFRESH_TOKEN_AUTH",
          AuthParameters: { REFRESH_TOKEN: token },
        });
        const wasSignedIn = signedIn();
        keep(answer.AuthenticationResult);
        if (!wasSignedIn) announce(true);
        return true;
      } catch (error) {
        if (error instanceof AuthError) {
          forget();
          return false;
        }
        throw error; // the network: keep the refresh token for the next try
      }
    })().finally(() => (state.refreshing = null));
  }
  return state.refreshing;
}

/** The access token, refreshed first when it is about to end. */
export async function accessToken() {
  if (state.accessToken && Date.now() < state.expiresAt - 5_000) return state.accessToken;
  if (await refresh()) return state.accessToken;
  return null;
}

function forget() {
  const had = signedIn();
  state.accessToken = null;
  state.expiresAt = 0;
  clearTimeout(state.timer);
  sessionStorage.removeItem(REFRESH_KEY);
  if (had) announce(false);
}

/** Sign out of this browser: the refresh token is revoked at the pool, tokens dropped. */
export async function signOut() {
  const token = sessionStorage.getItem(REFRESH_KEY);
  try {
    if (token) await cognito("RevokeToken", { ClientId: config().userPoolClientId, Token: token });
  } finally {
    forget();
  }
}

/** After the API said the session ended everywhere (401 session_ended). */
export function sessionEnded() {
  forget();
}

// The HTTP API on the page's own origin, with the access token in the Authorization
// header. A 401 is met by one refresh and one retry; errors arrive in DESIGN's shape
// {"error": {"code", "message"}} and are thrown as ApiError.

import { accessToken, refresh, sessionEnded } from "./auth.js";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function send(method, path, body, token) {
  const headers = { accept: "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  return fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

async function decode(response) {
  if (response.status === 204) return null;
  const text = await response.text();
  let answer = null;
  try {
    answer = text ? JSON.parse(text) : null;
  } catch {
    answer = null;
  }
  if (response.ok) return answer;
  const error = (answer && answer.error) || {};
  const retry = response.headers.get("retry-after");
  const message = error.message || (answer && answer.message) || `The API answered ${response.status}.`;
  throw new ApiError(response.status, error.code || "http_" + response.status, retry ? `${message} Try again in ${retry} s.` : message);
}

/** Call the API: api("POST", "/api/posts", {content}). */
export async function api(method, path, body) {
  let response = await send(method, path, body, await accessToken());
  if (response.status === 401 && (await refresh())) response = await send(method, path, body, await accessToken());
  if (response.status === 401) {
    const error = await decode(response).catch((e) => e);
    if (error instanceof ApiError && error.code === "session_ended") sessionEnded();
    throw error;
  }
  return decode(response);
}

export const get = (path) => api("GET", path);

/** A path with its query string: path("/api/feed", {limit: 20, cursor}). */
export function path(base, query = {}) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== null && value !== undefined && value !== "") params.set(key, value);
  const text = params.toString();
  return text ? `${base}?${text}` : base;
}

export const segment = encodeURIComponent;

/** Upload a file through a presigned POST (fields first, the file last). */
export async function upload(url, fields, file) {
  const form = new FormData();
  for (const [key, value] of Object.entries(fields)) form.append(key, value);
  form.append("file", file);
  const response = await fetch(url, { method: "POST", body: form });
  if (!response.ok) throw new ApiError(response.status, "upload_failed", `The upload was refused (${response.status}).`);
}

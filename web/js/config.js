// Where things are: GET /api/config, which the API answers without sign-in. The API
// itself is on the page's own origin (relay run serves /app/ beside /api/; on AWS,
// CloudFront sends /api/* to API Gateway).

let loaded = null;

export function config() {
  if (!loaded) throw new Error("config not loaded");
  return loaded;
}

export async function loadConfig() {
  const response = await fetch("/api/config", { headers: { accept: "application/json" } });
  if (!response.ok) throw new Error(`The API's configuration did not load (${response.status}).`);
  loaded = await response.json();
  return loaded;
}

/**
 * The WebSocket URL the page can open. The API reports the deployed form (wss://);
 * a page served over plain http is the local stack, which speaks ws:// on the same
 * port, and a page over https never downgrades.
 */
export function socketUrl(configured, pageProtocol = location.protocol) {
  if (pageProtocol === "http:" && configured.startsWith("wss://")) {
    const url = new URL(configured);
    if (["127.0.0.1", "localhost", "[::1]"].includes(url.hostname)) return "ws://" + configured.slice(6);
  }
  return configured;
}

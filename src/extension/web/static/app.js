// The sidecar's search page: plain modules, no build step, no outside resources. Every call carries
// the Immich API key from session storage; photos are fetched with it and shown as blob URLs, so the
// key never appears in a URL. User text only ever reaches the page through textContent.

const KEY = 'immich-ai-api-key';
const PAGE_SIZE = 24;
const $ = (id) => document.getElementById(id);
const state = { key: sessionStorage.getItem(KEY), query: '', page: 1, cursor: null, urls: [] };

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(path, { method = 'GET', body } = {}) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: { 'x-api-key': state.key, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch {
    throw new ApiError(0, 'The server could not be reached. Is immich-ai running?');
  }
  if (response.ok) return response.headers.get('content-type')?.includes('json') ? response.json() : response.blob();
  let message = `The server answered ${response.status}.`;
  try {
    const error = await response.json();
    message = Array.isArray(error.message) ? error.message.join('; ') : error.message || message;
  } catch {
    // not JSON
  }
  throw new ApiError(response.status, message);
}

function describeSignInError(error) {
  if (error.status === 401) return 'This API key is not valid for this Immich server.';
  if (error.status === 403) return 'This API key lacks a permission it needs (asset.read to search, asset.update to regenerate).';
  return error.message;
}

// ---- signing in and out ----

async function signIn(key) {
  state.key = key;
  const status = await api('/api/jobs');
  sessionStorage.setItem(KEY, key);
  $('sign-in').hidden = true;
  $('app').hidden = false;
  $('sign-out').hidden = false;
  renderQueue(status);
  startQueuePolling();
  $('q').focus();
}

function signOut(message = '') {
  sessionStorage.removeItem(KEY);
  state.key = null;
  stopQueuePolling();
  clearResults();
  $('app').hidden = true;
  $('sign-out').hidden = true;
  $('sign-in').hidden = false;
  $('sign-in-error').textContent = message;
  $('api-key').value = '';
  $('api-key').focus();
}

$('sign-in-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const button = event.submitter;
  button.disabled = true;
  $('sign-in-error').textContent = '';
  try {
    await signIn($('api-key').value.trim());
  } catch (error) {
    state.key = null;
    $('sign-in-error').textContent = describeSignInError(error);
  } finally {
    button.disabled = false;
  }
});

$('sign-out').addEventListener('click', () => signOut());

// ---- search ----

function clearResults() {
  for (const url of state.urls) URL.revokeObjectURL(url);
  state.urls = [];
  $('results').replaceChildren();
  $('more').hidden = true;
}

async function search(page) {
  const q = $('q').value.trim();
  if (!q) return;
  if (page === 1) clearResults();
  state.query = q;
  state.page = page;
  $('search-status').textContent = 'Searching…';
  try {
    const params = new URLSearchParams({ q, page: String(page), size: String(PAGE_SIZE) });
    if (page > 1 && state.cursor) params.set('cursor', state.cursor);
    const result = await api(`/api/ocr/search?${params}`);
    state.cursor = result.nextCursor ?? null;
    const count = $('results').children.length + result.hits.length;
    $('search-status').textContent =
      (count === 0 ? 'Nothing found.' : `${count} photo${count === 1 ? '' : 's'}${result.hasNextPage ? ' so far' : ''}.`) +
      (result.degraded ? ` (${result.degraded})` : '');
    for (const hit of result.hits) $('results').append(renderHit(hit));
    $('more').hidden = !result.hasNextPage;
  } catch (error) {
    if (error.status === 401) return signOut(describeSignInError(error));
    $('search-status').textContent = error.message;
  }
}

$('search-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void search(1);
});
$('more').addEventListener('click', () => void search(state.page + 1));

const SVG = 'http://www.w3.org/2000/svg';

function renderHit(hit) {
  const item = document.createElement('li');
  item.className = 'hit';
  item.dataset.assetId = hit.assetId;

  const photo = document.createElement('div');
  photo.className = 'photo';
  const image = document.createElement('img');
  image.alt = hit.lines.map((line) => line.text).join(' / ') || hit.originalFileName;
  const overlay = document.createElementNS(SVG, 'svg');
  overlay.setAttribute('viewBox', '0 0 1 1');
  overlay.setAttribute('preserveAspectRatio', 'none');
  overlay.setAttribute('aria-hidden', 'true');
  for (const line of hit.lines) {
    const polygon = document.createElementNS(SVG, 'polygon');
    const [x1, y1, x2, y2, x3, y3, x4, y4] = line.box;
    polygon.setAttribute('points', `${x1},${y1} ${x2},${y2} ${x3},${y3} ${x4},${y4}`);
    overlay.append(polygon);
  }
  photo.append(image, overlay);
  // object-fit: contain letterboxes the photo; the boxes must cover the photo, not the frame.
  const fitOverlay = () => {
    const frame = photo.getBoundingClientRect();
    const scale = Math.min(frame.width / image.naturalWidth, frame.height / image.naturalHeight);
    const width = image.naturalWidth * scale;
    const height = image.naturalHeight * scale;
    Object.assign(overlay.style, {
      left: `${(frame.width - width) / 2}px`,
      top: `${(frame.height - height) / 2}px`,
      width: `${width}px`,
      height: `${height}px`,
    });
  };
  image.addEventListener('load', fitOverlay);
  new ResizeObserver(() => image.naturalWidth && fitOverlay()).observe(photo);
  api(`/api/assets/${hit.assetId}/preview`)
    .then((blob) => {
      const url = URL.createObjectURL(blob);
      state.urls.push(url);
      image.src = url;
    })
    .catch(() => (image.alt = 'The preview could not be loaded.'));

  const lines = document.createElement('ul');
  lines.className = 'lines';
  for (const line of hit.lines) {
    const entry = document.createElement('li');
    let at = 0;
    for (const [start, end] of line.highlights) {
      entry.append(line.text.slice(at, start));
      const mark = document.createElement('mark');
      mark.textContent = line.text.slice(start, end);
      entry.append(mark);
      at = end;
    }
    entry.append(line.text.slice(at));
    lines.append(entry);
  }

  const meta = document.createElement('div');
  meta.className = 'meta';
  const parts = document.createElement('span');
  parts.className = 'muted';
  parts.textContent = [hit.ocr && `text #${hit.ocr.rank}`, hit.clip && `meaning #${hit.clip.rank}`].filter(Boolean).join(' · ');
  const regenerate = document.createElement('button');
  regenerate.type = 'button';
  regenerate.className = 'secondary';
  regenerate.textContent = 'Regenerate';
  regenerate.setAttribute('aria-label', `Read the text of ${hit.originalFileName} again`);
  regenerate.addEventListener('click', () => void regenerateOcr(hit.assetId, regenerate));
  meta.append(parts, regenerate);

  item.append(photo, lines, meta);
  return item;
}

async function regenerateOcr(assetId, button) {
  button.disabled = true;
  button.textContent = 'Queued…';
  try {
    const before = await api(`/api/assets/${assetId}/ocr`);
    await api(`/api/assets/${assetId}/reprocess`, { method: 'POST', body: { ocr: true } });
    for (let i = 0; i < 120; i++) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const now = await api(`/api/assets/${assetId}/ocr`);
      if (now.updatedAt !== before.updatedAt) {
        button.textContent = now.status === 'failed' ? `Failed: ${now.error}` : 'Done';
        return;
      }
    }
    button.textContent = 'Still waiting — see the queue';
  } catch (error) {
    button.textContent = error.message;
  } finally {
    button.disabled = false;
  }
}

// ---- queue progress ----

let queueTimer;

function startQueuePolling() {
  stopQueuePolling();
  queueTimer = setInterval(async () => {
    try {
      renderQueue(await api('/api/jobs'));
    } catch (error) {
      if (error.status === 401) signOut(describeSignInError(error));
    }
  }, 2000);
}

function stopQueuePolling() {
  clearInterval(queueTimer);
}

function renderQueue(status) {
  const counts = [
    ['Done', status.documents.done],
    ['Waiting', status.queue.waiting + status.queue.delayed],
    ['Running', status.queue.active],
    ['Failed', status.documents.failed],
  ];
  $('queue-counts').replaceChildren(
    ...counts.flatMap(([label, value]) => {
      const term = document.createElement('dt');
      term.textContent = label;
      const detail = document.createElement('dd');
      detail.textContent = String(value);
      detail.dataset.count = label.toLowerCase();
      return [term, detail];
    }),
  );
  $('failures').replaceChildren(
    ...status.failures.map((failure) => {
      const item = document.createElement('li');
      item.textContent = `${failure.job} ${failure.assetId ?? ''}: ${failure.error}`;
      return item;
    }),
  );
}

if (state.key) {
  signIn(state.key).catch((error) => signOut(describeSignInError(error)));
} else {
  $('api-key').focus();
}

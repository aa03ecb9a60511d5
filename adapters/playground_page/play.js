// The Gridline playground: a Telegram-like chat for each of the demo city's people, driving the Bot
// API stand-in through /play/api. Text from the chats is rendered through a whitelist of Telegram's
// own HTML tags; anything else becomes plain text, so no message can run a script here.
"use strict";

const UPLOAD_LIMIT = 12 * 1024 * 1024;  // bytes; the server refuses more (adapters/playground_web.py)

// Every word of the page in both languages, side by side: [zh, en].
const WORDS = {
  title: ["Gridline 试玩场", "Gridline playground"],
  banner_title: ["试玩场", "Playground"],
  banner_text: ["未连接 Telegram：这里的一切都只在本机运行，你可以扮演示范城区的任何人。",
    "Not connected to Telegram: everything here runs on this machine only; be anyone in the demo city."],
  be_who: ["扮演谁", "Be someone"],
  send: ["发送", "Send"],
  ok: ["好", "OK"],
  close: ["关闭", "Close"],
  type: ["输入消息…", "Message…"],
  send_photo: ["发送照片", "Send a photo"],
  send_location: ["发送位置", "Send a location"],
  pick_photo: ["选一张示例照片，或上传自己的", "Pick a sample photo, or upload your own"],
  upload: ["上传照片", "Upload a photo"],
  pick_place: ["点击地图发送位置", "Click the map to send a location"],
  photo: ["照片", "Photo"],
  edited: ["已编辑", "edited"],
  location: ["位置", "Location"],
  empty: ["还没有消息。发送 /start 开始。", "No messages yet. Send /start to begin."],
  refused: ["Telegram 会拒绝：", "Telegram would refuse: "],
  too_big: ["这张照片超过 12 MB，请换一张小一点的。", "This photo is over 12 MB. Please choose a smaller one."],
  citizen: ["居民", "citizen"],
  worker: ["网格员", "grid worker"],
  leader: ["网格长", "grid leader"],
  dispatcher: ["调度员", "dispatcher"],
  responder: ["应急队员", "responder"],
  commander: ["指挥员（区级调度）", "commander (district dispatcher)"],
};

const saved = localStorage.getItem("play-lang");
const state = {
  lang: saved === "zh" || saved === "en" ? saved : ((navigator.language || "zh").startsWith("en") ? "en" : "zh"),
  people: [], person: null, version: -1, poll: null, map: null, messages: [], shownNotices: new Set(),
};

const $ = (selector) => document.querySelector(selector);
const t = (key) => (WORDS[key] ? WORDS[key][state.lang === "en" ? 1 : 0] : key);
// A district's dispatcher is the demo's commander (the one who calls people out city-wide).
const roleLabel = (person) => (person.role === "dispatcher" && person.area_level === "district" ? t("commander") : t(person.role));
// Who someone is, in a line: their role and their area's name.
const whoLabel = (person) => [roleLabel(person), person.area_name || ""].join(" ").trim();

function applyWords() {
  document.documentElement.lang = state.lang;
  document.title = t("title");
  document.querySelectorAll("[data-t]").forEach((el) => { el.textContent = t(el.dataset.t); });
  document.querySelectorAll("[data-title]").forEach((el) => { el.title = t(el.dataset.title); el.setAttribute("aria-label", t(el.dataset.title)); });
  document.querySelectorAll("[data-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.placeholder); });
  document.querySelectorAll("[data-lang]").forEach((el) => el.classList.toggle("on", el.dataset.lang === state.lang));
  drawPeople();
  drawChat();
}

async function api(path, options = {}) {
  const response = await fetch(`/play/api${path}`, options);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

const post = (path, body) => api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });

// --- Telegram's HTML, safely ----------------------------------------------------------------------

const ALLOWED = new Set(["B", "STRONG", "I", "EM", "U", "INS", "S", "STRIKE", "DEL", "A", "CODE", "PRE", "BLOCKQUOTE",
  "SPAN", "TG-SPOILER", "TG-EMOJI"]);

function safeNodes(source, target) {
  for (const node of source.childNodes) {
    if (node.nodeType === Node.TEXT_NODE) {
      target.appendChild(document.createTextNode(node.textContent));
    } else if (node.nodeType === Node.ELEMENT_NODE && ALLOWED.has(node.tagName)) {
      let element;
      if (node.tagName === "A") {
        element = document.createElement("a");
        const href = node.getAttribute("href") || "";
        if (/^(https?:|tg:|mailto:)/i.test(href)) { element.href = href; element.target = "_blank"; element.rel = "noopener noreferrer"; }
      } else if (node.tagName === "TG-SPOILER" || (node.tagName === "SPAN" && node.getAttribute("class") === "tg-spoiler")) {
        element = document.createElement("span");
        element.className = "spoiler";
        element.addEventListener("click", () => element.classList.add("shown"));
      } else if (node.tagName === "SPAN" || node.tagName === "TG-EMOJI") {
        element = document.createElement("span");
      } else {
        element = document.createElement(node.tagName.toLowerCase());
      }
      safeNodes(node, element);
      target.appendChild(element);
    } else if (node.nodeType === Node.ELEMENT_NODE) {
      target.appendChild(document.createTextNode(node.textContent));
    }
  }
}

function renderHtml(html) {
  // DOMParser builds an inert document: nothing in it runs; only the whitelisted tags are copied out.
  const parsed = new DOMParser().parseFromString(`<body>${html}</body>`, "text/html");
  const out = document.createElement("div");
  out.className = "text";
  safeNodes(parsed.body, out);
  return out;
}

// --- small maps -----------------------------------------------------------------------------------

async function loadMap() {
  if (!state.map) state.map = await api("/map");
  return state.map;
}

function mapSvg(map, pin, onClick) {
  const ns = "http://www.w3.org/2000/svg";
  let [west, south, east, north] = [180, 90, -180, -90];
  for (const f of map.features) for (const ring of f.rings) for (const [x, y] of ring) {
    west = Math.min(west, x); east = Math.max(east, x); south = Math.min(south, y); north = Math.max(north, y);
  }
  const k = Math.cos(((south + north) / 2) * Math.PI / 180);
  const width = 600, height = Math.round(600 * (north - south) / ((east - west) * k));
  const px = (x) => (x - west) / (east - west) * width;
  const py = (y) => (north - y) / (north - south) * height;
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.classList.add("map");
  for (const f of map.features) {
    for (const ring of f.rings) {
      const path = document.createElementNS(ns, "polygon");
      path.setAttribute("points", ring.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(" "));
      path.setAttribute("class", f.level);
      const title = document.createElementNS(ns, "title");
      title.textContent = f.code;
      path.appendChild(title);
      svg.appendChild(path);
    }
  }
  if (onClick) {
    // The picker names the grids, so a place in a given grid (say Wang's, G1) is easy to find.
    for (const f of map.features.filter((feature) => feature.level === "grid")) {
      const ring = f.rings[0];
      const label = document.createElementNS(ns, "text");
      const xs = ring.map(([x]) => px(x)), ys = ring.map(([, y]) => py(y));
      label.setAttribute("x", ((Math.min(...xs) + Math.max(...xs)) / 2).toFixed(1));
      label.setAttribute("y", ((Math.min(...ys) + Math.max(...ys)) / 2).toFixed(1));
      label.setAttribute("class", "label");
      label.textContent = f.code.split("-").slice(-2).join("-");
      svg.appendChild(label);
    }
  }
  if (pin) {
    const [lat, lon] = pin;
    const marker = document.createElementNS(ns, "circle");
    marker.setAttribute("cx", px(lon)); marker.setAttribute("cy", py(lat)); marker.setAttribute("r", 9);
    marker.setAttribute("class", "pin");
    svg.appendChild(marker);
  }
  if (onClick) {
    svg.addEventListener("click", (event) => {
      // Through the SVG's own transform, so a letterboxed viewBox still maps the click exactly.
      const point = svg.createSVGPoint();
      point.x = event.clientX; point.y = event.clientY;
      const { x, y } = point.matrixTransform(svg.getScreenCTM().inverse());
      onClick(north - y / height * (north - south), west + x / width * (east - west));
    });
  }
  return svg;
}

// --- people ---------------------------------------------------------------------------------------

function drawPeople() {
  const list = $("#people-list");
  list.replaceChildren();
  for (const person of state.people) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.person = person.tg_id;
    button.classList.toggle("on", state.person && state.person.tg_id === person.tg_id);
    const name = document.createElement("b");
    name.textContent = person.name;
    const role = document.createElement("small");
    role.textContent = whoLabel(person);
    button.append(name, role);
    button.addEventListener("click", () => choose(person));
    item.appendChild(button);
    list.appendChild(item);
  }
}

function choose(person) {
  state.person = person;
  $("#composer").querySelectorAll("input, button").forEach((el) => { el.disabled = false; });
  state.version = -1;
  state.messages = [];
  state.keyboard = [];
  location.hash = `#${person.tg_id}`;
  closePicker();
  $("#toasts").replaceChildren();
  drawPeople();
  drawChat();
  if (state.poll) state.poll.abort();
  follow(person);
}

async function follow(person) {
  const controller = new AbortController();
  state.poll = controller;
  while (state.person === person && !controller.signal.aborted) {
    try {
      const chat = await api(`/chat/${person.tg_id}?since=${state.version}`, { signal: controller.signal });
      if (state.person !== person) return;
      const first = state.version < 0;
      if (chat.messages.length !== state.messages.length) state.scrollDown = true;
      state.version = chat.version;
      state.messages = chat.messages;
      state.keyboard = chat.reply_keyboard;
      for (const notice of chat.notices) {
        if (!first && !state.shownNotices.has(notice.id)) showNotice(notice);
        state.shownNotices.add(notice.id);
      }
      drawChat();
    } catch (error) {
      if (controller.signal.aborted) return;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

// --- the chat -------------------------------------------------------------------------------------

function drawChat() {
  const person = state.person;
  $("#chat-name").textContent = person ? person.name : "";
  $("#chat-role").textContent = person ? whoLabel(person) : "";
  const box = $("#messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  box.replaceChildren();
  if (person && !state.messages.length) {
    const empty = document.createElement("p");
    empty.className = "empty";
    empty.textContent = t("empty");
    box.appendChild(empty);
  }
  let album = null;
  for (const message of state.messages) {
    if (message.album && album && album.dataset.album === message.album) {
      album.querySelector(".album").appendChild(photo(message));
      if (message.text) album.appendChild(renderHtml(message.text));
      continue;
    }
    const bubble = drawMessage(message);
    album = message.album ? bubble : null;
    box.appendChild(bubble);
  }
  drawKeyboard();
  if (atBottom || state.scrollDown) box.scrollTop = box.scrollHeight;
  state.scrollDown = false;
}

function photo(message) {
  const image = document.createElement("img");
  image.src = `/play/api/file/${encodeURIComponent(message.photo)}`;
  image.alt = t("photo");
  image.addEventListener("load", () => {
    // A picture that arrives late keeps the newest message in view, as long as the reader was near it.
    const box = $("#messages");
    if (box.scrollHeight - box.scrollTop - box.clientHeight < image.height + 120) box.scrollTop = box.scrollHeight;
  });
  return image;
}

function drawMessage(message) {
  const bubble = document.createElement("div");
  bubble.className = `msg ${message.from_bot ? "bot" : "me"}`;
  bubble.dataset.id = message.id;
  if (message.album) {
    bubble.dataset.album = message.album;
    const grid = document.createElement("div");
    grid.className = "album";
    grid.appendChild(photo(message));
    bubble.appendChild(grid);
  } else if (message.photo) {
    bubble.appendChild(photo(message));
  }
  if (message.document) {
    const doc = document.createElement("div");
    doc.className = "document";
    doc.textContent = "📄";
    bubble.appendChild(doc);
  }
  if (message.location) {
    const where = document.createElement("div");
    where.className = "location";
    bubble.appendChild(where);
    loadMap().then((map) => where.appendChild(mapSvg(map, message.location, null)));
    const label = document.createElement("small");
    label.textContent = `📍 ${t("location")} ${message.location[0].toFixed(5)}, ${message.location[1].toFixed(5)}`;
    bubble.appendChild(label);
  }
  if (message.text) bubble.appendChild(renderHtml(message.text));
  const meta = document.createElement("small");
  meta.className = "meta";
  meta.textContent = `${message.edited ? t("edited") + " · " : ""}${new Date(message.date * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}`;
  bubble.appendChild(meta);
  if (message.buttons && message.buttons.length) {
    const keyboard = document.createElement("div");
    keyboard.className = "inline-keyboard";
    for (const row of message.buttons) {
      const line = document.createElement("div");
      line.className = "row";
      for (const button of row) {
        let element;
        if (button.url) {
          element = document.createElement("a");
          if (/^(https?:|tg:)/i.test(button.url)) element.href = button.url;
          element.target = "_blank";
          element.rel = "noopener noreferrer";
        } else {
          element = document.createElement("button");
          element.type = "button";
          if (button.callback_data) element.addEventListener("click", () => press(message.id, button.callback_data));
          else element.disabled = true;
        }
        element.className = "inline-btn";
        element.textContent = button.text;
        line.appendChild(element);
      }
      keyboard.appendChild(line);
    }
    bubble.appendChild(keyboard);
  }
  return bubble;
}

function drawKeyboard() {
  const box = $("#reply-keyboard");
  box.replaceChildren();
  for (const row of state.keyboard || []) {
    const line = document.createElement("div");
    line.className = "row";
    for (const button of row) {
      const element = document.createElement("button");
      element.type = "button";
      element.className = "reply-btn";
      element.textContent = button.text;
      element.addEventListener("click", () => {
        if (button.request_location) openLocation();
        else say(button.text);
      });
      line.appendChild(element);
    }
    box.appendChild(line);
  }
}

function showNotice(notice) {
  if (notice.alert) {
    $("#alert-text").textContent = notice.text;
    $("#alert").showModal();
    return;
  }
  const toast = document.createElement("div");
  toast.className = "toast";
  toast.textContent = notice.text;
  $("#toasts").appendChild(toast);
  setTimeout(() => toast.remove(), 4000);
}

function failed(error) {
  showNotice({ text: `${t("refused")}${error.message}`, alert: false });
}

async function say(text) {
  if (!state.person || !text.trim()) return;
  state.scrollDown = true;
  await post(`/chat/${state.person.tg_id}/text`, { text }).catch(failed);
}

async function press(messageId, data) {
  await post(`/chat/${state.person.tg_id}/press`, { message_id: messageId, data }).catch(failed);
}

// --- photo and location pickers -------------------------------------------------------------------

function closePicker() {
  $("#picker").hidden = true;
  $("#picker-body").replaceChildren();
}

function openPicker(title) {
  $("#picker-title").textContent = title;
  $("#picker-body").replaceChildren();
  $("#picker").hidden = false;
  return $("#picker-body");
}

async function openPhotos() {
  if (!state.person) return;
  const body = openPicker(t("pick_photo"));
  const { samples } = await api("/samples");
  for (const sample of samples) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "sample";
    button.dataset.sample = sample.name;
    button.title = sample.label;
    const image = document.createElement("img");
    image.src = `/play/api/sample/${sample.name}.jpg`;
    image.alt = sample.label;
    button.appendChild(image);
    button.addEventListener("click", async () => {
      closePicker();
      state.scrollDown = true;
      await api(`/chat/${state.person.tg_id}/photo?sample=${sample.name}`, { method: "POST" }).catch(failed);
    });
    body.appendChild(button);
  }
  const label = document.createElement("label");
  label.className = "upload";
  label.textContent = t("upload");
  const input = document.createElement("input");
  input.type = "file";
  input.accept = "image/jpeg,image/png";
  input.addEventListener("change", async () => {
    const file = input.files[0];
    if (!file) return;
    closePicker();
    if (file.size > UPLOAD_LIMIT) {  // the page's own limit (playground_web.UPLOAD_LIMIT), said in the page's language
      showNotice({ text: t("too_big"), alert: false });
      return;
    }
    state.scrollDown = true;
    await api(`/chat/${state.person.tg_id}/photo`, { method: "POST", body: file }).catch(failed);
  });
  label.appendChild(input);
  body.appendChild(label);
}

async function openLocation() {
  if (!state.person) return;
  const body = openPicker(t("pick_place"));
  const map = await loadMap();
  body.appendChild(mapSvg(map, null, async (lat, lon) => {
    closePicker();
    state.scrollDown = true;
    await post(`/chat/${state.person.tg_id}/location`, { lat, lon }).catch(failed);
  }));
}

// --- start ----------------------------------------------------------------------------------------

$("#composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $("#text");
  const text = input.value;
  input.value = "";
  say(text);
});
$("#photo-button").addEventListener("click", openPhotos);
$("#location-button").addEventListener("click", openLocation);
$("#picker-close").addEventListener("click", closePicker);
document.querySelectorAll("[data-lang]").forEach((button) => button.addEventListener("click", () => {
  state.lang = button.dataset.lang;
  localStorage.setItem("play-lang", state.lang);
  post("/language", { language: state.lang }).catch(() => {});
  applyWords();
}));

(async () => {
  const { people } = await api("/people");
  state.people = people;
  applyWords();
  post("/language", { language: state.lang }).catch(() => {});
  const wanted = Number(location.hash.slice(1));
  choose(people.find((p) => p.tg_id === wanted) || people[0]);
})();

"use strict";
(() => {
  // Every message string reaches the DOM through textContent, except m.html, which the sandbox
  // rendered with every character escaped (see renderMessageHTML).
  const chatsEl = document.getElementById("chats");
  const convEl = document.getElementById("conversation");
  // Conversations by channel and chat: Telegram chat ids and Messenger PSIDs are both numbers.
  const byChat = new Map();
  let states = {};
  let users = {};
  let lastSeq = 0;
  let epoch = null;
  let selected = null;

  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const isWebURL = (u) => /^https?:\/\//i.test(u);
  const chatKey = (m) => m.channel + ":" + m.chat;
  const channelName = { telegram: "Telegram", messenger: "Messenger" };

  function bubble(m) {
    const b = el("div", "bubble " + m.channel);
    if (m.media && m.media.length) {
      const grid = el("div", "media");
      for (const item of m.media) {
        if ((item.kind === "photo" || item.kind === "image") && isWebURL(item.url)) {
          const img = el("img");
          img.src = item.url;
          img.alt = item.caption || "photo";
          img.referrerPolicy = "no-referrer";
          img.loading = "lazy";
          grid.append(img);
        } else if (isWebURL(item.url)) {
          const a = el("a", "file", item.kind + ": " + item.url);
          a.href = item.url;
          a.rel = "noopener noreferrer";
          a.target = "_blank";
          grid.append(a);
        } else {
          grid.append(el("span", "file", item.kind + ": " + item.url));
        }
      }
      b.append(grid);
    }
    if (m.html) {
      const t = el("div", "text");
      t.innerHTML = m.html;
      b.append(t);
    }
    if (m.buttons && m.buttons.length) {
      const rows = el("div", "buttons");
      let row = null, rowIndex = -1;
      for (const btn of m.buttons) {
        if (btn.row !== rowIndex) {
          row = el("div", "row");
          rows.append(row);
          rowIndex = btn.row;
        }
        let chip;
        if (btn.url && isWebURL(btn.url)) {
          chip = el("a", "button", btn.text);
          chip.href = btn.url;
          chip.rel = "noopener noreferrer";
          chip.target = "_blank";
        } else {
          chip = el("span", "button", btn.text);
          chip.title = btn.url || ((m.channel === "messenger" ? "payload: " : "callback_data: ") + (btn.callback || ""));
        }
        row.append(chip);
      }
      b.append(rows);
    }
    if (m.quick_replies && m.quick_replies.length) {
      const qr = el("div", "quick-replies");
      for (const title of m.quick_replies) qr.append(el("span", "quick-reply", title));
      b.append(qr);
    }
    const flags = m.channel === "messenger"
      ? [m.route, m.tag || m.messaging_type, "#" + m.id].filter(Boolean)
      : [m.method, "#" + m.id];
    if (m.notification_type && m.notification_type !== "REGULAR") flags.push(m.notification_type);
    if (m.silent) flags.push("silent");
    if (m.paid) flags.push("paid");
    flags.push(new Date(m.time).toLocaleTimeString());
    b.append(el("div", "meta", flags.join(" · ")));
    return b;
  }

  function renderChats() {
    chatsEl.replaceChildren();
    if (byChat.size === 0) {
      chatsEl.append(el("p", "empty", "No messages yet."));
      return;
    }
    for (const [key, msgs] of byChat) {
      const last = msgs[msgs.length - 1];
      const item = el("button", "chat " + last.channel + (key === selected ? " selected" : ""));
      item.type = "button";
      const name = el("div", "name");
      name.append(el("span", "channel", channelName[last.channel] || last.channel), el("span", "", last.chat));
      const state = last.channel === "messenger"
        ? (users[last.chat] && users[last.chat].unavailable ? "unavailable" : "")
        : states[last.chat];
      if (state) name.append(el("span", "state", state));
      item.append(name, el("div", "preview", last.plain || (last.media || []).map((x) => x.kind).join(", ")));
      item.addEventListener("click", () => { selected = key; renderChats(); renderConversation(); });
      chatsEl.append(item);
    }
  }

  function renderConversation() {
    convEl.replaceChildren();
    const msgs = byChat.get(selected) || [];
    for (const m of msgs) convEl.append(bubble(m));
    convEl.scrollTop = convEl.scrollHeight;
  }

  async function poll() {
    try {
      const res = await fetch("/__sandbox/messages?render=1&after=" + lastSeq, { cache: "no-store" });
      const e = res.headers.get("X-Sandbox-Epoch");
      if (epoch !== null && e !== epoch && lastSeq > 0) {
        byChat.clear();
        lastSeq = 0;
        epoch = e;
        return poll();
      }
      epoch = e;
      const fresh = await res.json();
      for (const m of fresh) {
        const key = chatKey(m);
        if (!byChat.has(key)) byChat.set(key, []);
        byChat.get(key).push(m);
        lastSeq = Math.max(lastSeq, m.seq);
        if (selected === null) selected = key;
      }
      const [sres, ures] = await Promise.all([
        fetch("/__sandbox/chats", { cache: "no-store" }),
        fetch("/__sandbox/messenger/users", { cache: "no-store" }),
      ]);
      states = await sres.json();
      users = await ures.json();
      renderChats();
      if (fresh.length) renderConversation();
    } catch (err) {
      console.warn("sandbox poll:", err);
    }
  }

  document.getElementById("clear").addEventListener("click", async () => {
    await fetch("/__sandbox/messages", { method: "DELETE" });
    byChat.clear();
    lastSeq = 0;
    selected = null;
    renderChats();
    renderConversation();
  });

  poll();
  setInterval(poll, 1000);
})();

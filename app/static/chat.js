/* Recurra live chat: the customer's panel (#chat) and the agents' page (#agent-chats).
 *
 * Hand-written on purpose (no library): a chat needs its own resume logic anyway. Each WebSocket reconnects
 * with backoff and then asks for what it missed ({type: "resume", chat, after: highest message id seen});
 * a transcript keeps each message id once, in id order, so a line that arrives both live and in a history
 * shows once. Everything is drawn with textContent: nothing anyone writes is ever parsed as HTML.
 */
"use strict";
(() => {
  const MAX_BACKOFF_MS = 10000;
  const TYPING_EVERY_MS = 2000;
  const TYPING_SHOWN_MS = 4000;
  const REFUSED = { 4401: "Your session has ended: log in again to chat.", 4403: "Sign in as support staff to answer chats." };

  /* One WebSocket to `path` on this site, reopened after a drop until `stop()`. */
  class Link {
    constructor(path, handlers) {
      this.path = path;
      this.handlers = handlers;
      this.tries = 0;
      this.stopped = false;
      this.socket = null;
    }

    open() {
      const scheme = location.protocol === "https:" ? "wss://" : "ws://";
      const socket = new WebSocket(scheme + location.host + this.path);
      this.socket = socket;
      socket.onopen = () => { this.tries = 0; };
      socket.onmessage = (message) => {
        let event;
        try { event = JSON.parse(message.data); } catch { return; }
        this.handlers.event(event);
      };
      socket.onclose = (closed) => {
        this.socket = null;
        if (this.stopped) return;
        if (REFUSED[closed.code]) { this.handlers.refused(REFUSED[closed.code]); return; }
        this.handlers.down();
        const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.tries++) * (0.5 + Math.random() / 2);
        setTimeout(() => this.open(), delay);
      };
    }

    send(frame) {
      if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return false;
      this.socket.send(JSON.stringify(frame));
      return true;
    }
  }

  /* A transcript in an <ol>: each message id once, in id order. */
  class Thread {
    constructor(list, nameOf) {
      this.list = list;
      this.nameOf = nameOf;
      this.ids = new Set();
      this.last = 0;
    }

    clear() {
      this.list.replaceChildren();
      this.ids.clear();
      this.last = 0;
    }

    add(line) {
      if (this.ids.has(line.id)) return false;
      this.ids.add(line.id);
      this.last = Math.max(this.last, line.id);
      const item = document.createElement("li");
      item.className = "chat-line chat-" + line.author;
      item.dataset.id = String(line.id);
      if (line.author !== "system") {
        const who = document.createElement("span");
        who.className = "chat-who";
        who.textContent = this.nameOf(line);
        item.append(who);
      }
      const body = document.createElement("span");
      body.className = "chat-body";
      body.textContent = line.body;
      const time = document.createElement("time");
      time.dateTime = line.at;
      time.textContent = new Date(line.at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      item.append(body, time);
      let next = null;
      for (const other of this.list.children) {
        if (Number(other.dataset.id) > line.id) { next = other; break; }
      }
      this.list.insertBefore(item, next);
      this.list.scrollTop = this.list.scrollHeight;
      return true;
    }
  }

  const live = (chat) => chat && (chat.status === "waiting" || chat.status === "active");
  const show = (node, text) => { node.textContent = text; node.hidden = !text; };
  const ref = () => Math.random().toString(36).slice(2, 12);

  /* Shows "typing…" for a few seconds after each typing event. */
  function typingNote(node) {
    let timer = null;
    return {
      seen() { node.hidden = false; clearTimeout(timer); timer = setTimeout(() => { node.hidden = true; }, TYPING_SHOWN_MS); },
      stop() { clearTimeout(timer); node.hidden = true; },
    };
  }

  /* Sends typing events while keys are pressed, at most every TYPING_EVERY_MS. */
  function typingSender(input, send) {
    let last = 0;
    input.addEventListener("input", () => {
      const now = Date.now();
      if (now - last > TYPING_EVERY_MS && input.value.trim()) { last = now; send(); }
    });
  }

  /* Enter sends, Shift+Enter breaks the line. */
  function enterSends(form, input) {
    input.addEventListener("keydown", (key) => {
      if (key.key === "Enter" && !key.shiftKey) { key.preventDefault(); form.requestSubmit(); }
    });
  }

  /* The panel is a <template> until first opened: pages carry no chat markup for anyone who never opens it. */
  function customerPanel(root) {
    const toggle = root.querySelector(".chat-toggle");
    let panel = null;

    function setOpen(open) {
      if (open && !panel) panel = chatPanel(root, () => setOpen(false));
      if (panel) panel.node.hidden = !open;
      toggle.setAttribute("aria-expanded", String(open));
      sessionStorage.setItem("recurra-chat-open", open ? "1" : "");
      if (open) panel.focus();
    }

    toggle.addEventListener("click", () => setOpen(!panel || panel.node.hidden));
    root.hidden = false;
    if (sessionStorage.getItem("recurra-chat-open")) setOpen(true);
  }

  function chatPanel(root, hide) {
    const node = root.querySelector(".chat-panel-template").content.firstElementChild.cloneNode(true);
    root.append(node);
    const $ = (selector) => node.querySelector(selector);
    const status = $(".chat-status"), offline = $(".chat-offline");
    const error = $(".chat-error"), form = $(".chat-form"), input = $("textarea"), endButton = $(".chat-end");
    const ended = $(".chat-ended"), ticketLink = $(".chat-ticket");
    const typing = typingNote($(".chat-typing"));
    const thread = new Thread($(".chat-thread"), (line) => (line.author === "customer" ? "You" : line.name));
    let chat = null;
    let online = false;
    let connected = false;
    let pending = null;
    let link = null;

    function render() {
      const isLive = live(chat);
      const isEnded = chat && chat.status === "ended";
      let text = "";
      if (!connected) text = "Connecting…";
      else if (isLive && chat.status === "active") text = `You are chatting with ${chat.agent}.`;
      else if (isLive) text = online ? "Waiting for an agent…" : "No one is online right now; we will answer here and by e-mail.";
      else if (!isEnded && online) text = "We are online. Ask us anything.";
      status.textContent = text;
      offline.hidden = !connected || online || isLive || isEnded;
      form.hidden = !connected || isEnded || !(isLive || online);
      endButton.hidden = !isLive;
      ended.hidden = !isEnded;
      if (isEnded) ticketLink.href = "/support/" + chat.ticket;
    }

    function adopt(next) {
      if (!chat || chat.id !== next.id) { thread.clear(); typing.stop(); }
      chat = next;
      if (!live(chat)) typing.stop();
      render();
    }

    function resume() {
      if (chat) link.send({ type: "resume", chat: chat.id, after: thread.last });
    }

    const handlers = {
      state(event) {
        connected = true;
        online = event.agents_online;
        if (event.chat) { adopt(event.chat); resume(); }
        else if (chat) resume(); // the chat we showed ended while we were away: learn how
        render();
      },
      chat(event) { adopt(event.chat); },
      history(event) { if (chat && event.chat === chat.id) event.lines.forEach((line) => thread.add(line)); },
      message(event) {
        if (!chat || event.chat !== chat.id) return;
        thread.add(event);
        if (event.author === "staff") typing.stop();
      },
      typing(event) { if (chat && event.chat === chat.id && event.who === "staff") typing.seen(); },
      presence(event) { online = event.agents_online; render(); },
      sent(event) {
        if (event.ref !== pending) return;
        pending = null;
        input.value = "";
        show(error, "");
      },
      error(event) {
        if (event.ref && event.ref === pending) pending = null;
        if (event.code === "no_agent_online") online = false;
        show(error, event.detail);
        render();
      },
    };

    function connect() {
      link = new Link(root.dataset.socket, {
        event(event) { (handlers[event.type] || (() => {}))(event); },
        down() { connected = false; render(); },
        refused(reason) { connected = false; render(); status.textContent = reason; form.hidden = true; },
      });
      link.open();
      render();
    }

    $(".chat-hide").addEventListener("click", hide);
    form.addEventListener("submit", (submit) => {
      submit.preventDefault();
      const body = input.value.trim();
      if (!body) return;
      pending = ref();
      if (!link.send({ type: "message", body, ref: pending })) show(error, "Not connected; trying again…");
    });
    enterSends(form, input);
    typingSender(input, () => { if (live(chat)) link.send({ type: "typing" }); });
    endButton.addEventListener("click", () => { if (chat) link.send({ type: "end", chat: chat.id }); });
    $(".chat-new").addEventListener("click", () => { chat = null; thread.clear(); render(); input.focus(); });
    connect();
    return { node, focus() { input.focus(); } };
  }

  function agentPage(root) {
    const $ = (selector) => root.querySelector(selector);
    const status = $(".agent-status"), pageError = $(".agent-error"), waitingList = $(".agent-waiting");
    const noneWaiting = $(".agent-none-waiting"), chatsBox = $(".agent-chats"), template = $(".agent-chat-template");
    const panes = new Map();
    let me = null;
    let link = null;

    function renderWaiting() { noneWaiting.hidden = waitingList.children.length > 0; }

    function addWaiting(chat) {
      if (waitingList.querySelector(`[data-chat="${chat.id}"]`)) return;
      const item = document.createElement("li");
      item.dataset.chat = String(chat.id);
      const who = document.createElement("strong");
      who.textContent = chat.customer;
      const subject = document.createElement("span");
      subject.textContent = " " + chat.subject + " ";
      const take = document.createElement("button");
      take.type = "button";
      take.className = "button small";
      take.textContent = "Take";
      take.addEventListener("click", () => link.send({ type: "take", chat: chat.id }));
      item.append(who, subject, take);
      waitingList.append(item);
      renderWaiting();
    }

    function dropWaiting(chatId) {
      const item = waitingList.querySelector(`[data-chat="${chatId}"]`);
      if (item) item.remove();
      renderWaiting();
    }

    function pane(chat) {
      let found = panes.get(chat.id);
      if (!found) {
        const node = template.content.firstElementChild.cloneNode(true);
        const form = node.querySelector(".chat-form"), input = node.querySelector("textarea");
        found = {
          node, form, input, pending: null,
          error: node.querySelector(".chat-error"),
          typing: typingNote(node.querySelector(".chat-typing")),
          thread: new Thread(node.querySelector(".chat-thread"), (line) => line.name),
        };
        node.dataset.chat = String(chat.id);
        node.querySelector(".agent-chat-title").textContent = "Chat with " + chat.customer;
        node.querySelector(".agent-chat-ticket").textContent = `Ticket #${chat.ticket}: ${chat.subject}`;
        form.addEventListener("submit", (submit) => {
          submit.preventDefault();
          const body = input.value.trim();
          if (!body) return;
          found.pending = ref();
          if (!link.send({ type: "message", chat: chat.id, body, ref: found.pending })) show(found.error, "Not connected; trying again…");
        });
        enterSends(form, input);
        typingSender(input, () => link.send({ type: "typing", chat: chat.id }));
        node.querySelector(".chat-end").addEventListener("click", () => link.send({ type: "end", chat: chat.id }));
        panes.set(chat.id, found);
        chatsBox.prepend(node);
        link.send({ type: "resume", chat: chat.id, after: 0 });
      }
      const state = found.node.querySelector(".agent-chat-state");
      state.textContent = chat.status === "ended" ? "Ended" : "Live";
      if (chat.status === "ended") { found.form.hidden = true; found.typing.stop(); }
      return found;
    }

    const handlers = {
      state(event) {
        me = event.me;
        status.textContent = `You are online for chat as ${me.name} while this page is open.`;
        waitingList.replaceChildren();
        event.waiting.forEach(addWaiting);
        renderWaiting();
        const shown = [...panes.keys()];
        event.mine.forEach(pane); // a chat new to this page asks for its whole transcript
        // after a reconnect: what each chat shown missed (one that ended meanwhile says so)
        shown.forEach((chatId) => link.send({ type: "resume", chat: chatId, after: panes.get(chatId).thread.last }));
      },
      waiting(event) { addWaiting(event.chat); },
      taken(event) { dropWaiting(event.chat); },
      gone(event) { dropWaiting(event.chat); },
      chat(event) { pane(event.chat); },
      history(event) { const found = panes.get(event.chat); if (found) event.lines.forEach((line) => found.thread.add(line)); },
      message(event) {
        const found = panes.get(event.chat);
        if (!found) return;
        found.thread.add(event);
        if (event.author === "customer") found.typing.stop();
      },
      typing(event) { const found = panes.get(event.chat); if (found && event.who === "customer") found.typing.seen(); },
      sent(event) {
        const found = panes.get(event.chat);
        if (!found || found.pending !== event.ref) return;
        found.pending = null;
        found.input.value = "";
        show(found.error, "");
      },
      error(event) {
        const found = event.chat ? panes.get(event.chat) : null;
        show(found ? found.error : pageError, event.detail);
      },
    };

    link = new Link(root.dataset.socket, {
      event(event) { (handlers[event.type] || (() => {}))(event); },
      down() { status.textContent = "Reconnecting…"; },
      refused(reason) { status.textContent = reason; },
    });
    link.open();
  }

  const panel = document.getElementById("chat");
  if (panel) customerPanel(panel);
  const desk = document.getElementById("agent-chats");
  if (desk) agentPage(desk);
})();

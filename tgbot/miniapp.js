// The Mini App for big orders (tgbot/miniapp.py serves it and its API). No outside scripts: the initData comes
// from Telegram's own object when present, else from the #tgWebAppData=… fragment Telegram opens the page with.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const tg = window.Telegram && window.Telegram.WebApp;
  const initData = (tg && tg.initData) || new URLSearchParams(location.hash.slice(1)).get("tgWebAppData") || "";
  let texts = {}, cart = {}, offset = 0, query = {};

  async function api(name, body) {
    const response = await fetch("api/" + name, {
      method: "POST",
      headers: {"Authorization": "tma " + initData, "Content-Type": "application/json"},
      body: JSON.stringify(body || {}),
    });
    const data = await response.json().catch(() => ({error: String(response.status)}));
    if (!response.ok) throw new Error(data.error || String(response.status));
    return data;
  }

  function fail(error) { $("error").textContent = error.message; $("error").hidden = false; }
  function ok() { $("error").hidden = true; }
  function el(tag, props, children) {
    const node = Object.assign(document.createElement(tag), props || {});
    (children || []).forEach((c) => node.append(c));
    return node;
  }

  function showCart(data) {
    cart = {};
    $("cart").replaceChildren(...data.entries.map((e) => {
      if (e.product_id !== null) cart[e.product_id] = e.quantity;
      const count = el("input", {type: "number", min: "0", value: e.quantity, className: "qty",
        inputMode: "numeric"});
      count.addEventListener("change", () => setQuantity(e.product_id, parseInt(count.value, 10) || 0));
      return el("li", {className: "line"}, [
        el("div", {className: "name", textContent: e.name}),
        el("div", {className: "meta", textContent: e.price + " × " + e.quantity + " = " + e.total}),
        el("div", {className: "buy"}, [count]),
      ]);
    }));
    $("empty").hidden = data.entries.length > 0;
    $("total").textContent = data.total;
    $("submit").disabled = data.entries.length === 0;
  }

  async function setQuantity(productId, quantity) {
    try { showCart(await api("set", {product_id: productId, quantity: quantity})); ok(); } catch (e) { fail(e); }
  }

  function item(p) {
    const count = el("input", {type: "number", min: "1", value: "1", className: "qty", inputMode: "numeric"});
    const add = el("button", {type: "button", className: "add", textContent: texts.add});
    add.addEventListener("click", () => setQuantity(p.id, (cart[p.id] || 0) + (parseInt(count.value, 10) || 1)));
    const meta = [p.article, p.price || texts.no_price, p.stock].filter(Boolean).join(" · ");
    return el("li", {className: "item"}, [
      el("div", {className: "name", textContent: p.name}),
      el("div", {className: "meta", textContent: meta}),
      el("div", {className: "buy"}, p.price ? [count, add] : []),
    ]);
  }

  let searches = 0;  // a slow earlier search (the first, of everything) must not overwrite a later one's results

  async function search(more) {
    offset = more ? offset : 0;
    if (!more) {
      const group = $("group").value;
      query = {text: $("q").value, in_stock: $("stock").checked, group_id: group ? parseInt(group, 10) : null};
    }
    const mine = ++searches;
    try {
      const page = await api("search", Object.assign({offset: offset}, query));
      if (mine !== searches) return;
      const items = page.items.map(item);
      if (more) $("results").append(...items); else $("results").replaceChildren(...items);
      $("nothing").hidden = more || items.length > 0;
      $("more").hidden = page.next_offset === null;
      offset = page.next_offset || 0;
      ok();
    } catch (e) { fail(e); }
  }

  function details(form) {
    const box = $("details");
    form.forEach((f) => {
      let input;
      if (f.options.length) {
        input = el("select", {name: f.name}, [el("option", {value: "", textContent: "—"}),
          ...f.options.map((o) => el("option", {value: o.value, textContent: o.title}))]);
      } else if (f.name === "comment") {
        input = el("textarea", {name: f.name, rows: 3});
      } else {
        input = el("input", {name: f.name});
      }
      const label = el("label", {textContent: f.label + (f.required ? " *" : "")}, [input]);
      label.dataset.field = f.name;
      if (f.shown_when) label.dataset.shownWhen = JSON.stringify(f.shown_when);
      box.append(label);
    });
    const follow = () => box.querySelectorAll("label[data-shown-when]").forEach((label) => {
      const when = JSON.parse(label.dataset.shownWhen);
      const source = box.elements[when.field];
      label.hidden = !source || source.value !== when.value;
    });
    box.addEventListener("change", follow);
    follow();
  }

  async function submit() {
    const values = {};
    Array.from($("details").elements).forEach((input) => {
      if (!input.closest("label").hidden) values[input.name] = input.value;
    });
    $("submit").disabled = true;
    try {
      const answer = await api("submit", values);
      $("app").hidden = true;
      $("done").textContent = answer.message;
      $("done").hidden = false;
      ok();
    } catch (e) { fail(e); $("submit").disabled = false; }
  }

  async function start() {
    if (tg && tg.ready) tg.ready();
    try {
      const me = await api("me");
      texts = me.texts;
      $("title").textContent = texts.title;
      $("who").textContent = [me.name, me.organisation].filter(Boolean).join(" · ");
      $("q").placeholder = texts.search;
      $("stock-label").textContent = texts.in_stock;
      $("find-button").textContent = texts.find;
      $("more").textContent = texts.more;
      $("nothing").textContent = texts.nothing;
      $("cart-title").textContent = texts.cart;
      $("empty").textContent = texts.empty;
      $("total-label").textContent = texts.total;
      $("details-title").textContent = texts.details;
      $("submit").textContent = texts.submit;
      $("group").replaceChildren(el("option", {value: "", textContent: texts.all_groups}),
        ...me.groups.map((g) => el("option", {value: g.id, textContent: "\u00a0\u00a0".repeat(g.depth) + g.name})));
      details(me.form);
      if (!me.may_order) {  // the cart is theirs to fill; the order is placed by someone who may
        $("details").hidden = true;
        $("details-title").textContent = texts.may_not_order;
        $("submit").hidden = true;
      }
      // Shown once the cart and the first results are in: a search or a quantity typed before that would be
      // overwritten by them (the first search re-reads the box, and its results replace the ones being typed into).
      showCart(await api("cart"));
      await search(false);
      $("app").hidden = false;
    } catch (e) { fail(e); }
  }

  $("find").addEventListener("submit", (event) => { event.preventDefault(); search(false); });
  $("more").addEventListener("click", () => search(true));
  $("submit").addEventListener("click", submit);
  start();
})();

/* The little of Telegram's Mini App interface the board and the picker use, without loading
   telegram-web-app.js from Telegram's servers: the launch data Telegram puts in the URL's fragment
   (tgWebAppData = initData), and the events a Mini App posts to the Telegram client. */
(function () {
  "use strict";
  var params = new URLSearchParams((location.hash || "").replace(/^#/, ""));
  var initData = params.get("tgWebAppData") || sessionStorage.getItem("tgWebAppData") || "";
  if (params.get("tgWebAppData")) {
    sessionStorage.setItem("tgWebAppData", initData);
    history.replaceState(null, "", location.pathname + location.search);  // keep it out of the address bar
  }
  function postEvent(type, data) {
    var body = JSON.stringify(data || {});
    if (window.TelegramWebviewProxy && window.TelegramWebviewProxy.postEvent) {
      window.TelegramWebviewProxy.postEvent(type, body);  // Android, iOS
    } else if (window.external && "notify" in window.external) {
      window.external.notify(JSON.stringify({eventType: type, eventData: data || {}}));  // Windows Phone
    } else if (window.parent !== window) {
      window.parent.postMessage(JSON.stringify({eventType: type, eventData: data || {}}), "*");  // Telegram Web
    }
  }
  var startLanguage = "";
  try {
    var user = JSON.parse(new URLSearchParams(initData).get("user") || "{}");
    startLanguage = (user.language_code || "").slice(0, 2);
  } catch (e) { /* no user: a browser, not Telegram */ }
  window.GridlineTelegram = {
    initData: initData,
    inTelegram: initData !== "",
    language: startLanguage,
    ready: function () { postEvent("web_app_ready"); postEvent("web_app_expand"); },
    sendData: function (text) { postEvent("web_app_data_send", {data: text}); },
    close: function () { postEvent("web_app_close"); },
    // Tests play the Telegram client: what the page would have posted.
    sent: []
  };
  var send = window.GridlineTelegram.sendData;
  window.GridlineTelegram.sendData = function (text) { window.GridlineTelegram.sent.push(text); send(text); };
})();

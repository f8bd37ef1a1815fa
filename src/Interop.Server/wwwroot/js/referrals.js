// The referral worklist's live updates: the page's server-sent events (relayed from the server's subscription channel)
// say when a task of this institution changed; the table is then read again and swapped in, and the change announced.
(function () {
    "use strict";
    var worklist = document.getElementById("worklist");
    var status = document.getElementById("live-status");
    if (!worklist || !status || !window.EventSource) return;
    var pending = false, reading = false;

    function say(text, state) {
        status.textContent = text;
        if (state) status.dataset.live = state;
    }

    // Someone typing a reason or a summary keeps their text, and an opened "refer down" stays open: the swap waits
    // until they leave the field and close it (or send it).
    function typing() {
        var active = document.activeElement;
        if (worklist.querySelector("details[open]")) return true;
        return active && worklist.contains(active) && (active.tagName === "INPUT" || active.tagName === "TEXTAREA" || active.tagName === "SELECT");
    }

    function refresh() {
        if (reading || typing()) { pending = true; return; }
        reading = true;
        pending = false;
        fetch(worklist.dataset.table, { credentials: "same-origin", headers: { "Accept": "text/html" } })
            .then(function (response) {
                if (!response.ok) throw new Error("HTTP " + response.status);
                return response.text();
            })
            .then(function (html) {
                if (typing()) { pending = true; return; } // they started meanwhile: read again when they are done
                worklist.innerHTML = html;
                var updates = Number(worklist.dataset.updates || "0") + 1;
                worklist.dataset.updates = String(updates);
                say(status.dataset.textUpdated + " " + new Date().toLocaleTimeString(document.documentElement.lang), "ready");
            })
            .catch(function () { say(status.dataset.textOff, "off"); })
            .finally(function () {
                reading = false;
                if (pending) refresh();
            });
    }

    worklist.addEventListener("focusout", function () {
        if (pending) setTimeout(refresh, 0);
    });
    worklist.addEventListener("toggle", function () { // does not bubble: caught on the way down
        if (pending) setTimeout(refresh, 0);
    }, true);

    var events = new EventSource(worklist.dataset.events);
    events.addEventListener("ready", function () {
        var missed = status.dataset.live === "off"; // back after an interruption: what changed meanwhile is read now
        say(status.dataset.textReady, "ready");
        if (missed) refresh();
    });
    events.addEventListener("change", refresh);
    events.addEventListener("failed", function () { say(status.dataset.textOff, "off"); });
    events.onerror = function () { say(status.dataset.textOff, "off"); };
    window.addEventListener("pagehide", function () { events.close(); });
})();

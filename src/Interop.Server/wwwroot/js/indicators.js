// The indicator dashboard's charts: Chart.js over the data island #indicator-data (the tables beside hold the same numbers).
(function () {
    "use strict";
    var island = document.getElementById("indicator-data");
    if (!island || typeof Chart === "undefined") return;
    var series = JSON.parse(island.textContent);
    var byKey = {};
    series.forEach(function (s) { byKey[s.key] = s; });
    document.querySelectorAll("canvas[data-series]").forEach(function (canvas) {
        var s = byKey[canvas.getAttribute("data-series")];
        if (!s) return;
        var byMonth = canvas.getAttribute("data-by") === "month";
        var labels = byMonth ? s.months : s.institutions;
        var values = byMonth ? s.monthValues : s.institutionValues;
        new Chart(canvas, {
            type: byMonth ? "line" : "bar",
            data: {
                labels: labels,
                datasets: [{
                    label: s.label + " (" + s.unit + ")",
                    data: values,
                    borderColor: "#0b5cad",
                    backgroundColor: byMonth ? "rgba(11, 92, 173, 0.15)" : "#0b5cad",
                    fill: byMonth,
                    spanGaps: true,
                    tension: 0.2
                }]
            },
            options: {
                animation: false,
                responsive: true,
                maintainAspectRatio: false,
                indexAxis: byMonth ? "x" : "y",
                plugins: { legend: { display: true, position: "bottom" } },
                scales: byMonth
                    ? { y: { beginAtZero: true, suggestedMax: s.unit === "%" ? 100 : undefined } }
                    : { x: { beginAtZero: true, suggestedMax: s.unit === "%" ? 100 : undefined } }
            }
        });
    });
})();

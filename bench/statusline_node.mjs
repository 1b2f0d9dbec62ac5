// The approach of the Node.js status-line plugins, for bench_statusline.py to compare
// with: every call asks the quota endpoint and prints one line. Written for the bench
// only; the base URL and key come from GLMTRAY_BASE_URL and GLMTRAY_API_KEY.
const base = process.env.GLMTRAY_BASE_URL;
const response = await fetch(`${base}/api/monitor/usage/quota/limit`, {
  headers: { Authorization: process.env.GLMTRAY_API_KEY, Accept: "application/json" },
  signal: AbortSignal.timeout(5000),
});
const { data } = await response.json();
const names = { 3: "h", 6: "w", 5: "mo" };
const parts = data.limits
  .filter((limit) => limit.type !== "TIME_LIMIT")
  .map((limit) => {
    const reset = new Date(limit.nextResetTime).toTimeString().slice(0, 5);
    return `${limit.number}${names[limit.unit] ?? "?"} ${limit.percentage}% ⟳${reset}`;
  });
console.log([`GLM ${data.level}`, ...parts].join(" · "));

using System.Text.Json;
using Interop.Bench;

// ./interop.sh bench [--workers N] [--seconds S]: starts PostgreSQL and the server, then runs this.
var options = Args.Parse(args);
Console.WriteLine($"Interop benchmark: {options.Workers} workers, {options.Seconds}s per phase, {Environment.ProcessorCount} cores (server, PostgreSQL and load generator share them)");

var duration = TimeSpan.FromSeconds(options.Seconds);
var raw = await RawBaseline.Run(options.Pg, options.Workers, duration);

using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = options.Workers, PooledConnectionLifetime = Timeout.InfiniteTimeSpan });
await CrudCycle.Run(http, options.Url, options.Workers, TimeSpan.FromSeconds(3)); // warm-up (JIT, pools)
var crud = await CrudCycle.Run(http, options.Url, options.Workers, duration);

var rawRows = raw.Stats.Rows(raw.InsertTime).Where(r => r.Name == "raw insert")
    .Concat(raw.Stats.Rows(raw.SelectTime).Where(r => r.Name == "raw select-by-id")).ToList();
var crudRows = crud.Stats.Rows(crud.Elapsed).ToList();
var crudPerSecond = crud.Stats.Count / crud.Elapsed.TotalSeconds;
var rawSelect = rawRows.Single(r => r.Name == "raw select-by-id").PerSecond;
var serverRead = crudRows.SingleOrDefault(r => r.Name == "read")?.PerSecond ?? 0;
// In the cycle reads are a quarter of all requests; the read rate the server could sustain alone is
// estimated from the read latency share. Report both the in-mix rate and the direct latency ratio.
var rawSelectP50 = rawRows.Single(r => r.Name == "raw select-by-id").P50;
var serverReadP50 = crudRows.SingleOrDefault(r => r.Name == "read")?.P50 ?? 0;

Console.WriteLine();
Console.WriteLine($"{"operation",-22}{"count",10}{"req/s",10}{"p50 ms",10}{"p95 ms",10}{"p99 ms",10}");
foreach (var r in rawRows.Concat(crudRows))
    Console.WriteLine($"{r.Name,-22}{r.Count,10}{r.PerSecond,10:F0}{r.P50,10:F2}{r.P95,10:F2}{r.P99,10:F2}");
Console.WriteLine();
Console.WriteLine($"CRUD cycle overall:      {crudPerSecond:F0} req/s ({crud.Stats.Errors} errors) — goal ≥ 1300");
Console.WriteLine($"read-by-id in the mix:   {serverRead:F0} req/s vs raw select {rawSelect:F0}/s");

var readOnly = await ReadOnly.Run(http, options.Url, options.Workers, duration);
var readOnlyRate = readOnly.Stats.Count / readOnly.Elapsed.TotalSeconds;
var readRow = readOnly.Stats.Rows(readOnly.Elapsed).Single();
Console.WriteLine($"read-by-id alone:        {readOnlyRate:F0} req/s, p50 {readRow.P50:F2} ms, p95 {readRow.P95:F2} ms");
Console.WriteLine($"ratio server/raw read:   {readOnlyRate / rawSelect:F2} — goal ≥ 0.5 (p50 {serverReadP50:F2} ms in mix vs raw {rawSelectP50:F2} ms)");

var result = new
{
    machine = new { cores = Environment.ProcessorCount, workers = options.Workers, secondsPerPhase = options.Seconds },
    raw = rawRows, crud = crudRows, crudPerSecond, crudErrors = crud.Stats.Errors,
    readOnly = new { perSecond = readOnlyRate, readRow.P50, readRow.P95, readRow.P99, errors = readOnly.Stats.Errors },
    rawSelectPerSecond = rawSelect, readRatio = readOnlyRate / rawSelect,
};
Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(options.Out))!);
await File.WriteAllTextAsync(options.Out, JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true }));
Console.WriteLine($"figures written to {options.Out}");
return crud.Stats.Errors == 0 && readOnly.Stats.Errors == 0 ? 0 : 1;

internal sealed record Args(string Url, string Pg, string Out, int Workers, int Seconds)
{
    public static Args Parse(string[] args)
    {
        string? Get(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        return new Args(
            Get("--url") ?? throw new ArgumentException("--url is required"),
            Get("--pg") ?? throw new ArgumentException("--pg is required"),
            Get("--out") ?? ".bench/results.json",
            int.Parse(Get("--workers") ?? "16"),
            int.Parse(Get("--seconds") ?? "15"));
    }
}

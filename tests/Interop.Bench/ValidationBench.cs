using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Interop.Bench;

/// <summary>
/// What validation costs: the same build twice on one database, validation on (Fhir:Validation=profiles, the default)
/// and off, alternating slices of the CRUD cycle and of Synthea transaction bundles over HTTP. Beside them, PostgreSQL
/// alone inserting the same documents, the machine's raw baseline.
/// </summary>
public static class ValidationBench
{
    public static async Task<int> Run(Args options, HttpClient http)
    {
        var off = options.OpenUrl ?? throw new ArgumentException("--open-url (the server with validation off) is required");
        var files = Directory.GetFiles(options.Synthea ?? throw new ArgumentException("--synthea is required"), "*.json")
            .Where(f => !Path.GetFileName(f).StartsWith("hospital") && !Path.GetFileName(f).StartsWith("practitioner")).Order().ToArray();
        // The other server issues its own tokens (its issuer is its own address): the off arm has a client of its own.
        using var offHttp = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = options.Workers, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
        {
            Timeout = http.Timeout,
        };
        if (Environment.GetEnvironmentVariable("INTEROP_ADMIN_SECRET") is { Length: > 0 } secret)
            offHttp.DefaultRequestHeaders.Authorization = new("Bearer", await Auth.Token(offHttp, off, "admin", secret));
        HttpClient For(string url) => url == off ? offHttp : http;
        var duration = TimeSpan.FromSeconds(options.Seconds);
        var raw = await RawBaseline.Run(options.Pg, options.Workers, duration);
        var rawInsert = raw.Stats.Rows(raw.InsertTime).Single(r => r.Name == "raw insert").PerSecond;
        // The practitioners and hospitals the patient bundles refer to, on the database both servers share.
        foreach (var f in Directory.GetFiles(options.Synthea, "*.json").Where(f => !files.Contains(f)))
            (await http.PostAsync(options.Url, new StringContent(await File.ReadAllTextAsync(f), Encoding.UTF8, "application/fhir+json"))).EnsureSuccessStatusCode();
        foreach (var url in new[] { options.Url, off })
        {
            // Warm-up (pools, compiled schemas, the JIT). Synthea touches thousands of the SDK's model and validator
            // methods: 25-55 s into a cold ingest the JIT's background thread still took a quarter of the server's CPU
            // (perf), and a second pass over the same bundles ran 27 % faster. A server in service is past that.
            await CrudCycle.Run(For(url), url, options.Workers, TimeSpan.FromSeconds(5));
            await Ingest(For(url), url, files, Math.Min(options.Workers, 4), TimeSpan.FromSeconds(Warmup));
        }
        var slice = duration / 2;
        var rates = await Alternating.Run(slice,
            (on, d) => CrudCycle.Run(on ? http : offHttp, on ? options.Url : off, options.Workers, d),
            (on, d) => Ingest(on ? http : offHttp, on ? options.Url : off, files, Math.Min(options.Workers, 4), d));
        Console.WriteLine();
        Console.WriteLine($"raw PostgreSQL insert:  {rawInsert:F0} docs/s");
        Console.WriteLine($"validation on / off, alternating 4 x 2 slices of {slice.TotalSeconds:F0} s:");
        Console.WriteLine($"  CRUD cycle:   {rates.FirstOn:F0} / {rates.FirstOff:F0} req/s = {rates.FirstOn / rates.FirstOff:F2} — goal ≥ 0.6; on ÷ raw insert {rates.FirstOn / rawInsert:F3}");
        Console.WriteLine($"  ingest (Synthea transactions over HTTP): {rates.SecondOn:F0} / {rates.SecondOff:F0} resources/s = {rates.SecondOn / rates.SecondOff:F2} — goal ≥ 700 resources/s on; on ÷ raw insert {rates.SecondOn / rawInsert:F3}");
        await Report.Write(options.Out, new
        {
            machine = new { cores = Environment.ProcessorCount, options.Workers, secondsPerPhase = options.Seconds },
            rawInsertPerSecond = rawInsert,
            crud = new { on = rates.FirstOn, off = rates.FirstOff, ratio = rates.FirstOn / rates.FirstOff, onPerRaw = rates.FirstOn / rawInsert },
            ingest = new { on = rates.SecondOn, off = rates.SecondOff, ratio = rates.SecondOn / rates.SecondOff, onPerRaw = rates.SecondOn / rawInsert },
            errors = rates.Errors,
        });
        return rates.Errors == 0 ? 0 : 1;
    }

    private static int _copy = 5000;

    /// <summary>Seconds of ingest each server gets before the measured slices.</summary>
    private const int Warmup = 40;

    /// <summary>Synthea patient bundles (fresh ids each time) as transactions for <paramref name="duration"/>; a sample per resource stored.</summary>
    private static async Task<(Stats Stats, TimeSpan Elapsed)> Ingest(HttpClient http, string url, string[] files, int clients, TimeSpan duration)
    {
        var stats = new Stats();
        var elapsed = await Load.Run(clients, duration, async (_, ct) =>
        {
            var copy = Interlocked.Increment(ref _copy);
            var file = files[copy % files.Length];
            var text = IngestBench.Fresh(await File.ReadAllTextAsync(file, ct), copy);
            var start = Stopwatch.GetTimestamp();
            var response = await http.PostAsync(url, new StringContent(text, Encoding.UTF8, "application/fhir+json"), CancellationToken.None);
            if (!response.IsSuccessStatusCode)
            {
                stats.Error();
                Console.WriteLine($"  {(int)response.StatusCode} {Path.GetFileName(file)}: {(await response.Content.ReadAsStringAsync())[..Math.Min(300, (int)(response.Content.Headers.ContentLength ?? 300))]}");
                return;
            }
            for (var i = Regex.Count(text, "\"request\""); i > 0; i--) stats.Record("resource", start);
        });
        return (stats, elapsed);
    }
}

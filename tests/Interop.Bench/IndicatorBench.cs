using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Interop.Fhir.Measures;
using Npgsql;
using NpgsqlTypes;

namespace Interop.Bench;

/// <summary>
/// The indicators on the seeded group (./interop.sh seed's residents, plus risk assessments and care plans added
/// here): each $evaluate-measure for the whole group over the seed's last year, and all five in a row; the same
/// statements run directly through Npgsql (the raw PostgreSQL baseline); and the headline counts obtained by plain
/// FHIR searches (_summary=count, and paging through accepted tasks for the median) — figures and ratios.
/// </summary>
public static class IndicatorBench
{
    private const string Start = "2025-11-01", End = "2026-10-31", Lo = "2025-11-01", Hi = "2026-11-01";
    private const int Rounds = 5;

    public static async Task<int> Run(Args options, HttpClient http)
    {
        await using var db = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(options.Pg) { CommandTimeout = 0 }.ConnectionString);
        var size = await Scalar(db, "select count(*) from fhir.mt_doc_resourcedoc where not deleted");
        Console.WriteLine($"data set: {size:N0} resources");
        await IndicatorData.EnsureRisk(db, http, options.Url);

        var rows = new List<object>();
        double server = 0, raw = 0;
        foreach (var (id, indicator) in MeasureEvaluator.Indicators)
        {
            var s = await Median(() => Get(http, $"{options.Url}/Measure/{id}/$evaluate-measure?periodStart={Start}&periodEnd={End}"));
            var r = await Median(() => Raw(db, indicator));
            server += s; raw += r;
            rows.Add(new { indicator = id, serverMs = s, rawMs = r, serverOverRaw = s / r });
            Console.WriteLine($"{id,-22} $evaluate-measure {s,8:F1} ms   raw SQL {r,8:F1} ms   ratio {s / r,5:F2}");
        }
        var together = await Median(async () => { foreach (var id in MeasureEvaluator.Indicators.Keys) await Get(http, $"{options.Url}/Measure/{id}/$evaluate-measure?periodStart={Start}&periodEnd={End}"); });
        var searches = await Median(() => PlainSearches(http, options.Url));
        Console.WriteLine();
        Console.WriteLine($"all five in a row:       {together:F0} ms (goal < 5,000 ms); sum of raw SQL {raw:F0} ms");
        Console.WriteLine($"plain FHIR searches:     {searches:F0} ms for the headline counts ({searches / together:F1}× the indicators)");
        await Report.Write(options.Out, new { resources = size, period = new { Start, End }, rounds = Rounds, indicators = rows, togetherMs = together, rawSumMs = raw, plainSearchMs = searches, searchOverIndicators = searches / together });
        return 0;
    }

    // The median of Rounds timed runs after one warm-up, in ms.
    private static async Task<double> Median(Func<Task> run)
    {
        await run();
        var times = new List<double>();
        for (var i = 0; i < Rounds; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await run();
            times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        return times.Order().ElementAt(Rounds / 2);
    }

    private static async Task<JsonObject> Get(HttpClient http, string url)
    {
        using var response = await http.GetAsync(url);
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{(int)response.StatusCode} {url}: {body}");
        return JsonNode.Parse(body)!.AsObject();
    }

    private static async Task Raw(NpgsqlDataSource db, Indicator indicator)
    {
        await using var connection = await db.OpenConnectionAsync();
        foreach (var statement in indicator.Statements)
        {
            await using var cmd = new NpgsqlCommand(statement.Sql, connection);
            cmd.Parameters.Add(new NpgsqlParameter("lo", NpgsqlDbType.TimestampTz) { Value = DateTime.Parse(Lo + "T00:00:00Z").ToUniversalTime() });
            cmd.Parameters.Add(new NpgsqlParameter("hi", NpgsqlDbType.TimestampTz) { Value = DateTime.Parse(Hi + "T00:00:00Z").ToUniversalTime() });
            cmd.Parameters.Add(new NpgsqlParameter("reporter", NpgsqlDbType.Bigint) { Value = DBNull.Value });
            await using var reader = await cmd.ExecuteReaderAsync();
            while (await reader.ReadAsync()) { }
        }
    }

    // The headline counts (no strata) as a client would get them with plain searches.
    private static async Task PlainSearches(HttpClient http, string b)
    {
        const string type = "type=https://interop.example/fhir/CodeSystem/episode-type|";
        string[] counts =
        [
            "Patient?_summary=count",
            $"Patient?_has:EpisodeOfCare:patient:{type}family-doctor-contract&_has:EpisodeOfCare:patient:date=ge{Lo}&_summary=count",
            $"Encounter?date=ge{Lo}&date=lt{Hi}&_summary=count",
            $"Encounter?date=ge{Lo}&date=lt{Hi}&service-provider=Organization/external-hospital&_summary=count",
            $"Encounter?date=ge{Lo}&date=lt{Hi}&service-provider:missing=true&_summary=count",
            .. new[] { "59621000", "44054006", "58214004", "13746004" }.Select(c => $"EpisodeOfCare?{type}case-management&chronic-condition={c}&date=ge{Lo}&date=lt{Hi}&_summary=count"),
            .. new[] { "up", "down" }.Select(d => $"ServiceRequest?referral-direction={d}&authored=ge{Lo}&authored=lt{Hi}&_summary=count"),
            $"RiskAssessment?risk=high&status=final&date=ge{Lo}&date=lt{Hi}&_summary=count",
            $"Patient?_has:RiskAssessment:subject:risk=high&_has:CarePlan:subject:status=active&_summary=count",
        ];
        foreach (var q in counts) await Get(http, $"{b}/{q}");
        // the median time to accept needs the tasks themselves
        var hours = new List<double>();
        for (var url = $"{b}/Task?accepted:missing=false&authored-on=ge{Lo}&authored-on=lt{Hi}&_count=1000&_elements=authoredOn,extension"; url is not null;)
        {
            var page = await Get(http, url);
            foreach (var e in page["entry"]?.AsArray() ?? [])
            {
                var task = e!["resource"]!;
                var accepted = task["extension"]?.AsArray().FirstOrDefault(x => x!["url"]!.GetValue<string>().EndsWith("task-accepted"))?["valueDateTime"]?.GetValue<string>();
                if (accepted is not null) hours.Add((DateTimeOffset.Parse(accepted) - DateTimeOffset.Parse(task["authoredOn"]!.GetValue<string>())).TotalHours);
            }
            url = page["link"]?.AsArray().FirstOrDefault(l => l!["relation"]!.GetValue<string>() == "next")?["url"]?.GetValue<string>();
        }
        _ = hours.Order().ElementAtOrDefault(hours.Count / 2);
    }

    private static async Task<long> Scalar(NpgsqlDataSource db, string sql)
    {
        await using var cmd = db.CreateCommand(sql);
        return (long)(await cmd.ExecuteScalarAsync())!;
    }
}

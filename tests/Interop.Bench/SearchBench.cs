using System.Diagnostics;
using System.Net;
using System.Text;
using Npgsql;

namespace Interop.Bench;

/// <summary>
/// The search mix on the large data set: each query alone for a phase (req/s, p50, p95), then all of them
/// mixed. Query values are sampled from the data so every request hits real rows.
/// </summary>
public static class SearchBench
{
    /// <summary>A named query of a mix; its URL (relative to the base) drawn with the load's random source.</summary>
    internal sealed record Query(string Name, Func<Random, string> Url);

    public static async Task<int> Run(Args options, HttpClient http)
    {
        await using var db = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(options.Pg) { CommandTimeout = 0 }.ConnectionString); // analyze and sampling run long at 1M
        var size = await Scalar<long>(db, "select count(*) from fhir.mt_doc_resourcedoc where not deleted");
        Console.WriteLine($"data set: {size:N0} resources");
        await EnsureReferrals(db, http, options.Url);

        var patients = await Column(db, "select resource_id from fhir.mt_doc_resourcedoc where resource_type = 'Patient' and not deleted order by random() limit 500");
        var identifiers = await Column(db, "select system || '|' || code from fhir.ix_token where rtype = 'Patient' and param = 'identifier' and system is not null order by random() limit 500");
        var families = await Column(db, "select exact from fhir.ix_string where rtype = 'Patient' and param = 'family' order by random() limit 500");
        var obsCodes = await Column(db, "select code from fhir.ix_token where rtype = 'Observation' and param = 'code' and system = 'http://loinc.org' group by code order by count(*) desc limit 15");
        var valueCodes = await Pairs(db, "select code, percentile_disc(0.9) within group (order by v_number)::text from fhir.ix_composite where rtype = 'Observation' and param = 'code-value-quantity' and v_number is not null group by code order by count(*) desc limit 10");
        var conditions = await Column(db, "select code from fhir.ix_token where rtype = 'Condition' and param = 'code' group by code order by count(*) desc limit 20");
        var performers = await Column(db, "select distinct target_type || '/' || target_id from fhir.ix_reference where rtype = 'ServiceRequest' and param = 'performer' and target_id is not null limit 50");
        if (patients.Count == 0 || obsCodes.Count == 0 || valueCodes.Count == 0) throw new InvalidOperationException("The data set is empty: load it first (./interop.sh bench search).");

        string Pick(Random r, List<string> from) => Uri.EscapeDataString(from[r.Next(from.Count)]);
        string[] priorities = ["routine", "urgent", "asap", "stat"];
        var queries = new List<Query>
        {
            new("Patient birthdate+gender", r => { var y = 1930 + r.Next(70); return $"Patient?birthdate=ge{y}-01-01&birthdate=le{y + 9}-12-31&gender={(r.Next(2) == 0 ? "female" : "male")}&_count=20"; }),
            new("Patient identifier", r => $"Patient?identifier={Pick(r, identifiers)}"),
            new("Patient name prefix", r => $"Patient?name={Uri.EscapeDataString(families[r.Next(families.Count)][..3])}&_count=20"),
            new("Observation subject", r => $"Observation?subject=Patient/{Pick(r, patients)}&_count=20"),
            new("Observation code+date", r => { var y = 2000 + r.Next(20); return $"Observation?code=http://loinc.org|{Pick(r, obsCodes)}&date=ge{y}-01-01&date=le{y}-12-31&_count=20"; }),
            new("Observation code+value", r => { var (code, v) = valueCodes[r.Next(valueCodes.Count)]; return $"Observation?code-value-quantity={Uri.EscapeDataString($"http://loinc.org|{code}$gt{v}")}&_count=20"; }),
            new("Encounter date", r => { var y = 2000 + r.Next(20); var m = 1 + r.Next(12); return $"Encounter?date=ge{y}-{m:D2}-01&date=le{y}-{m:D2}-28&_count=20"; }),
            new("ServiceRequest worklist", r => $"ServiceRequest?performer={Pick(r, performers)}&status=active&priority={priorities[r.Next(4)]}&_sort=-authored&_count=20"),
            new("chain subject:Patient.family", r => $"Encounter?subject:Patient.family={Pick(r, families)}&_count=20"),
            new("_has Condition code", r => $"Patient?_has:Condition:patient:code={Pick(r, conditions)}&_count=20"),
            new("_include service-provider", r => $"Encounter?subject=Patient/{Pick(r, patients)}&_include=Encounter:service-provider&_count=20"),
        };

        var duration = TimeSpan.FromSeconds(options.Seconds);
        foreach (var q in queries) await Phase(http, options.Url, [q], options.Workers, TimeSpan.FromSeconds(2)); // warm-up
        var rows = new List<Stats.Row>();
        long errors = 0;
        foreach (var q in queries)
        {
            var (stats, elapsed) = await Phase(http, options.Url, [q], options.Workers, duration);
            rows.AddRange(stats.Rows(elapsed));
            errors += stats.Errors;
        }
        var (mix, mixElapsed) = await Phase(http, options.Url, queries, options.Workers, duration);
        var mixPerSecond = mix.Count / mixElapsed.TotalSeconds;
        errors += mix.Errors;
        var rawSelect = await RawBaseline.SelectPerSecond(options.Pg, options.Workers, duration);

        // With --open-url (the same build with security and the access log off, on the same database): the mix against
        // both, alternating in slices, so the figure says what tokens, the policy and the log cost at this size.
        object? open = null;
        if (options.OpenUrl is { } offUrl)
        {
            await Phase(http, offUrl, queries, options.Workers, TimeSpan.FromSeconds(5)); // warm-up of the other server
            var (on, off, onP95, offP95, e) = await Alternating.One(duration / 2, (isOn, d) => Phase(http, isOn ? options.Url : offUrl, queries, options.Workers, d));
            errors += e;
            open = new { onPerSecond = on, offPerSecond = off, ratioOnOff = on / off, onP95Ms = onP95, offP95Ms = offP95 };
            Console.WriteLine($"mix, security and log on / off, alternating 4 x 2 slices of {(duration / 2).TotalSeconds:F0} s: {on:F0} / {off:F0} req/s = {on / off:F2} (p95 {onP95:F1} / {offP95:F1} ms)");
        }

        Console.WriteLine();
        Report.Header();
        foreach (var r in rows) Report.Row(r);
        Console.WriteLine();
        Console.WriteLine($"mixed search:            {mixPerSecond:F0} req/s overall ({errors} errors) — goal ≥ 850");
        Console.WriteLine($"worst p95:               {rows.Max(r => r.P95):F1} ms ({rows.MaxBy(r => r.P95)!.Name}) — goal < 50 ms each");
        Console.WriteLine($"raw select-by-id:        {rawSelect:F0}/s (same run) — mix ÷ raw {mixPerSecond / rawSelect:F3}");
        await Report.Write(options.Out, new
        {
            resources = size, machine = new { cores = Environment.ProcessorCount, options.Workers, secondsPerPhase = options.Seconds },
            queries = rows, mixPerSecond, rawSelectPerSecond = rawSelect, mixOverRaw = mixPerSecond / rawSelect, securityAndLogOff = open, errors,
        });
        return errors == 0 ? 0 : 1;
    }

    /// <summary>Runs the queries (one drawn at random per request) for the duration: every answer must be 200.</summary>
    internal static async Task<(Stats, TimeSpan)> Phase(HttpClient http, string baseUrl, List<Query> queries, int workers, TimeSpan duration)
    {
        var stats = new Stats();
        var elapsed = await Load.Run(workers, duration, async (w, ct) =>
        {
            var random = Random.Shared;
            var q = queries[random.Next(queries.Count)];
            var url = $"{baseUrl}/{q.Url(random)}";
            var start = Stopwatch.GetTimestamp();
            using var response = await http.GetAsync(url, CancellationToken.None);
            await response.Content.ReadAsByteArrayAsync(CancellationToken.None);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                stats.Error();
                if (stats.Errors <= 3) Console.WriteLine($"  {(int)response.StatusCode} {url}");
                return;
            }
            stats.Record(q.Name, start);
        });
        return (stats, elapsed);
    }

    /// <summary>Synthea has no referrals: add up-referrals (ServiceRequests) to hospitals through the API once.</summary>
    private static async Task EnsureReferrals(NpgsqlDataSource db, HttpClient http, string baseUrl)
    {
        const int wanted = 20_000;
        var have = await Scalar<long>(db, "select count(*) from fhir.mt_doc_resourcedoc where resource_type = 'ServiceRequest' and not deleted");
        if (have >= wanted) return;
        var patients = await Column(db, "select resource_id from fhir.mt_doc_resourcedoc where resource_type = 'Patient' and not deleted limit 5000");
        var hospitals = await Column(db, "select resource_id from fhir.mt_doc_resourcedoc where resource_type = 'Organization' and not deleted limit 30");
        Console.WriteLine($"adding {wanted - have:N0} referrals (ServiceRequest) through transactions...");
        var random = new Random(7);
        string[] statuses = ["active", "active", "completed", "revoked"];
        string[] priorities = ["routine", "urgent", "asap", "stat"];
        for (var done = have; done < wanted; done += 500)
        {
            var entries = Enumerable.Range(0, 500).Select(_ =>
                $$$"""{"resource":{"resourceType":"ServiceRequest","status":"{{{statuses[random.Next(4)]}}}","intent":"order","priority":"{{{priorities[random.Next(4)]}}}","category":[{"coding":[{"system":"urn:interop:referral","code":"up-referral"}]}],"subject":{"reference":"Patient/{{{patients[random.Next(patients.Count)]}}}"},"performer":[{"reference":"Organization/{{{hospitals[random.Next(hospitals.Count)]}}}"}],"authoredOn":"20{{{10 + random.Next(15)}}}-0{{{1 + random.Next(9)}}}-1{{{random.Next(10)}}}"},"request":{"method":"POST","url":"ServiceRequest"}}""");
            var bundle = $$"""{"resourceType":"Bundle","type":"transaction","entry":[{{string.Join(",", entries)}}]}""";
            var response = await http.PostAsync(baseUrl, new StringContent(bundle, Encoding.UTF8, "application/fhir+json"));
            if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"adding referrals failed: {await response.Content.ReadAsStringAsync()}");
        }
        await using var analyze = db.CreateCommand("analyze");
        await analyze.ExecuteNonQueryAsync();
    }

    private static async Task<T> Scalar<T>(NpgsqlDataSource db, string sql)
    {
        await using var cmd = db.CreateCommand(sql);
        return (T)(await cmd.ExecuteScalarAsync())!;
    }

    private static async Task<List<string>> Column(NpgsqlDataSource db, string sql)
    {
        await using var cmd = db.CreateCommand(sql);
        await using var reader = await cmd.ExecuteReaderAsync();
        var list = new List<string>();
        while (await reader.ReadAsync()) list.Add(reader.GetString(0));
        return list;
    }

    private static async Task<List<(string, string)>> Pairs(NpgsqlDataSource db, string sql)
    {
        await using var cmd = db.CreateCommand(sql);
        await using var reader = await cmd.ExecuteReaderAsync();
        var list = new List<(string, string)>();
        while (await reader.ReadAsync()) list.Add((reader.GetString(0), reader.GetString(1)));
        return list;
    }
}

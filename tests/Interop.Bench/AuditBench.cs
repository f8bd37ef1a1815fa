using System.Diagnostics;
using System.Net;
using Npgsql;

namespace Interop.Bench;

/// <summary>
/// The access log at scale: loads synthetic AuditEvents (default 5 million over 60 days) straight into audit.event,
/// then measures the auditors' queries over HTTP (by patient over a month, by agent over a day, break-glass over a
/// year; goal p95 &lt; 100 ms), and read-by-id and a search mix with the log on and off (two servers on one database,
/// alternating slices; goal on/off ≥ 0.7), beside the raw select-by-id of the same run.
/// </summary>
public static class AuditBench
{
    public const int Days = 60, Patients = 200_000, Users = 2_000, Clients = 200, Orgs = 60;
    private const int Warmup = 15; // seconds of read-by-id per server before the on/off slices (and half of it of the search mix)
    /// <summary>Requests in flight for the second measurement: the group's servers see many callers at once, and group commit is made for that.</summary>
    public const int GroupLoad = 64;

    public static async Task<int> Run(Args options, HttpClient http, long events)
    {
        await using var db = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(options.Pg) { CommandTimeout = 0 }.ConnectionString);
        var loaded = await Load(db, events);
        var auditor = await Auth.ClientToken(http, options.Url, http.DefaultRequestHeaders.Authorization!.Parameter!, "bench-auditor", "system/AuditEvent.rs", null);
        var duration = TimeSpan.FromSeconds(options.Seconds);
        var today = DateTime.UtcNow.Date;
        string Day(DateTime d) => d.ToString("yyyy-MM-dd");
        var queries = new (string Name, Func<Random, string> Url)[]
        {
            ("by patient, a month", r => { var end = today.AddDays(-r.Next(Days - 30)); return $"AuditEvent?patient=Patient/bench-{r.Next(Patients)}&date=ge{Day(end.AddDays(-30))}&date=lt{Day(end)}&_count=50"; }),
            ("by agent, a day", r => $"AuditEvent?agent=Practitioner/bench-{r.Next(Users)}&date={Day(today.AddDays(-1 - r.Next(Days - 1)))}&_count=50"),
            ("break-glass, a year", _ => $"AuditEvent?purpose=BTG&date=ge{Day(today.AddDays(-365))}&_count=50"),
        };
        var rows = new List<Stats.Row>();
        long errors = 0;
        foreach (var (name, url) in queries)
        {
            await Phase(http, auditor, options.Url, name, url, 4, TimeSpan.FromSeconds(2)); // warm-up
            var (stats, elapsed) = await Phase(http, auditor, options.Url, name, url, 4, duration);
            rows.AddRange(stats.Rows(elapsed));
            errors += stats.Errors;
        }
        Console.WriteLine();
        Console.WriteLine($"access log: {loaded:N0} events over {Days} days; auditor queries at 4 in flight:");
        Report.Header();
        foreach (var r in rows) Report.Row(r);
        foreach (var r in rows) Console.WriteLine($"  {r.Name,-24} p95 {r.P95,7:F1} ms — goal < 100 ms {(r.P95 < 100 ? "met" : "NOT met")}");

        // Read-by-id and a search mix, audit on (this server) and off (--open-url: Audit:Enabled=false), alternating.
        var rawSelect = await RawBaseline.SelectPerSecond(options.Pg, options.Workers, duration);
        var openUrl = options.OpenUrl ?? throw new ArgumentException("bench audit needs --open-url (the same build with Audit:Enabled=false)");
        // Each server is its own token issuer (its URL): the quiet one gets the admin's token from itself.
        using var quiet = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = options.Workers, PooledConnectionLifetime = Timeout.InfiniteTimeSpan });
        quiet.DefaultRequestHeaders.Authorization = new("Bearer", await Auth.Token(quiet, openUrl, "admin", Environment.GetEnvironmentVariable("INTEROP_ADMIN_SECRET")!));
        // Both servers warm alike (JIT tiers, pools, plans) before the timed slices: the server with the log on
        // has run only the auditors' queries so far, and a cold read path measured the JIT, not the log.
        foreach (var (client, url) in new[] { (http, options.Url), (quiet, openUrl) })
        {
            await ReadOnly.Run(client, url, options.Workers, TimeSpan.FromSeconds(Warmup));
            await SearchMix(client, url, options.Workers, TimeSpan.FromSeconds(Warmup / 2));
        }
        var slice = duration / 2;
        Console.WriteLine($"raw select-by-id:           {rawSelect:F0}/s");
        var rates = await OnOff(http, quiet, options.Url, openUrl, options.Workers, slice);
        errors += rates.Errors;
        Print($"audit on / off, alternating 4 x 2 slices of {slice.TotalSeconds:F0} s:", rates,
            $" (on ÷ raw select {rates.FirstOn / rawSelect:F2}, off ÷ raw {rates.FirstOff / rawSelect:F2})");

        // The same at GroupLoad requests in flight, as the group's servers see them: each commit then carries more
        // records (about 22 against 6 at 16, measured), though most of a record's cost is per row (README).
        Alternating.Rates? many = null;
        if (options.Workers < GroupLoad)
        {
            HttpClient Wide(HttpClient like) => new(new SocketsHttpHandler { MaxConnectionsPerServer = GroupLoad, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
                { DefaultRequestHeaders = { Authorization = like.DefaultRequestHeaders.Authorization } };
            using var wideOn = Wide(http);
            using var wideOff = Wide(quiet);
            foreach (var (client, url) in new[] { (wideOn, options.Url), (wideOff, openUrl) })
                await ReadOnly.Run(client, url, GroupLoad, TimeSpan.FromSeconds(Warmup / 3));
            many = await OnOff(wideOn, wideOff, options.Url, openUrl, GroupLoad, slice);
            errors += many.Errors;
            Print($"audit on / off at {GroupLoad} requests in flight, alternating 4 x 2 slices of {slice.TotalSeconds:F0} s:", many, "");
        }
        await Report.Write(options.Out, new
        {
            machine = new { cores = Environment.ProcessorCount, options.Workers, secondsPerPhase = options.Seconds },
            events = loaded, queries = rows, rawSelectPerSecond = rawSelect,
            read = new { on = rates.FirstOn, off = rates.FirstOff, ratio = rates.FirstOn / rates.FirstOff, onRaw = rates.FirstOn / rawSelect },
            search = new { on = rates.SecondOn, off = rates.SecondOff, ratio = rates.SecondOn / rates.SecondOff },
            groupLoad = many is null ? null : new
            {
                inFlight = GroupLoad,
                read = new { on = many.FirstOn, off = many.FirstOff, ratio = many.FirstOn / many.FirstOff },
                search = new { on = many.SecondOn, off = many.SecondOff, ratio = many.SecondOn / many.SecondOff },
            },
            errors,
        });
        return errors == 0 ? 0 : 1;
    }

    // Synthetic events, a day's partition at a time, generated inside PostgreSQL into a plain table that is then
    // attached as the day's partition (its indexes built at once, as a restore would). Lane 17 is outside the chains
    // that $verify checks, so this database's log does not verify; the figures are about the queries.
    private static async Task<long> Load(NpgsqlDataSource db, long events)
    {
        await using (var count = db.CreateCommand("select count(*) from audit.event where lane = 17"))
            if ((long)(await count.ExecuteScalarAsync())! >= events) return events;
        var perDay = events / Days;
        static string Day(int daysAgo) => DateTime.UtcNow.Date.AddDays(-daysAgo).ToString("yyyy-MM-dd");
        var sw = Stopwatch.StartNew();
        for (var d = Days; d >= 1; d--)
        {
            await using var cmd = db.CreateCommand($$"""
                create table audit.bench_load (like audit.event);
                insert into audit.bench_load (id, recorded, lane, pos, hash, patients, entities, agents, agent_org, action, subtype, outcome, purpose, type, source, keys, doc)
                select gen_random_uuid(), ts, 17, g, '\x00', array[p], array[p, 'Observation/' || g], array['client-' || (g % {{Clients}}), 'Practitioner/bench-' || u],
                       'Organization/bench-' || (u % {{Orgs}}), 'R', 'read', 0, case when g % 2000 = 0 then array['BTG'] else '{}'::text[] end, 'rest', 'bench',
                       array['p:' || p, 'e:' || p, 'e:Observation/' || g, 'a:client-' || (g % {{Clients}}), 'a:Practitioner/bench-' || u, 'o:Organization/bench-' || (u % {{Orgs}})],
                       jsonb_build_object('resourceType', 'AuditEvent',
                           'type', jsonb_build_object('system', 'http://terminology.hl7.org/CodeSystem/audit-event-type', 'code', 'rest'),
                           'subtype', jsonb_build_array(jsonb_build_object('system', 'http://hl7.org/fhir/restful-interaction', 'code', 'read')),
                           'action', 'R', 'recorded', ts, 'outcome', '0',
                           'agent', jsonb_build_array(
                               jsonb_build_object('who', jsonb_build_object('identifier', jsonb_build_object('system', 'urn:interop:client', 'value', 'client-' || (g % {{Clients}}))), 'requestor', false),
                               jsonb_build_object('who', jsonb_build_object('reference', 'Practitioner/bench-' || u), 'requestor', true),
                               jsonb_build_object('who', jsonb_build_object('reference', 'Organization/bench-' || (u % {{Orgs}})), 'requestor', false)),
                           'source', jsonb_build_object('site', 'bench', 'observer', jsonb_build_object('display', 'Interop FHIR server')),
                           'entity', jsonb_build_array(jsonb_build_object('what', jsonb_build_object('reference', p)),
                                                       jsonb_build_object('what', jsonb_build_object('reference', 'Observation/' || g || '/_history/1'))))::text
                from (select g, '{{Day(d)}}'::timestamp at time zone 'UTC' + ((g * 1000003) % 86400000) * interval '1 ms' as ts,
                             'Patient/bench-' || ((g * 7919) % {{Patients}}) as p, (g * 104729) % {{Users}} as u
                      from generate_series({{(long)d * perDay}}::bigint, {{(long)d * perDay + perDay - 1}}) g) s;
                alter table audit.event attach partition audit.bench_load
                    for values from ('{{Day(d)}}'::timestamp at time zone 'UTC') to (('{{Day(d)}}'::date + 1)::timestamp at time zone 'UTC');
                alter table audit.bench_load rename to event_{{Day(d).Replace("-", "")}};
                """);
            await cmd.ExecuteNonQueryAsync();
            if (d % 10 == 1) Console.Error.WriteLine($"loading the access log: {(Days - d + 1) * perDay:N0} events ({(Days - d + 1) * perDay / sw.Elapsed.TotalSeconds:N0}/s)");
        }
        await using (var analyze = db.CreateCommand("analyze audit.event")) await analyze.ExecuteNonQueryAsync();
        Console.Error.WriteLine();
        return perDay * Days;
    }

    // Read-by-id, then the search mix, against the log-on and the log-off server in alternating slices.
    private static Task<Alternating.Rates> OnOff(HttpClient on, HttpClient off, string onUrl, string offUrl, int workers, TimeSpan slice) =>
        Alternating.Run(slice,
            (isOn, d) => isOn ? ReadOnly.Run(on, onUrl, workers, d) : ReadOnly.Run(off, offUrl, workers, d),
            (isOn, d) => isOn ? SearchMix(on, onUrl, workers, d) : SearchMix(off, offUrl, workers, d));

    private static void Print(string title, Alternating.Rates r, string readNote)
    {
        Console.WriteLine(title);
        Console.WriteLine($"  read-by-id:  {r.FirstOn:F0} / {r.FirstOff:F0} req/s = {r.FirstOn / r.FirstOff:F2} — goal ≥ 0.7{readNote}");
        Console.WriteLine($"  search mix:  {r.SecondOn:F0} / {r.SecondOff:F0} req/s = {r.SecondOn / r.SecondOff:F2} — goal ≥ 0.7");
    }

    private static async Task<(Stats Stats, TimeSpan Elapsed)> Phase(HttpClient http, string token, string baseUrl, string name, Func<Random, string> url, int workers, TimeSpan duration)
    {
        var stats = new Stats();
        var elapsed = await global::Interop.Bench.Load.Run(workers, duration, async (_, ct) =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"{baseUrl}/{url(Random.Shared)}");
            request.Headers.Authorization = new("Bearer", token);
            var start = Stopwatch.GetTimestamp();
            using var response = await http.SendAsync(request, ct);
            await response.Content.ReadAsByteArrayAsync(ct);
            if (response.StatusCode != HttpStatusCode.OK) stats.Error(); else stats.Record(name, start);
        });
        return (stats, elapsed);
    }

    // A small search mix over the patients the read phases created.
    private static async Task<(Stats Stats, TimeSpan Elapsed)> SearchMix(HttpClient http, string baseUrl, int workers, TimeSpan duration)
    {
        string[] urls = ["Patient?family=Wang&_count=10", "Patient?birthdate=1950-03-0{0}&_count=10", "Patient?identifier=urn:oid:2.16.156.10011.1.1|44030{1:D8}"];
        var stats = new Stats();
        var elapsed = await global::Interop.Bench.Load.Run(workers, duration, async (_, ct) =>
        {
            var r = Random.Shared;
            var url = string.Format(urls[r.Next(urls.Length)], 1 + r.Next(9), r.Next(200));
            var start = Stopwatch.GetTimestamp();
            using var response = await http.GetAsync($"{baseUrl}/{url}", ct);
            await response.Content.ReadAsByteArrayAsync(ct);
            if (response.StatusCode != HttpStatusCode.OK) stats.Error(); else stats.Record("search mix", start);
        });
        return (stats, elapsed);
    }
}

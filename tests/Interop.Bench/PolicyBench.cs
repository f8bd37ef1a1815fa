using System.Net;
using System.Text.Json;
using Npgsql;
using Query = Interop.Bench.SearchBench.Query;

namespace Interop.Bench;

/// <summary>
/// The search mix of a station, with tokens and the access policy on against the same build with security off
/// (Auth:Enabled=false) on the same seeded database (./interop.sh seed: stations, contracts, encounters, referrals),
/// alternating in slices per query and for the mix, beside the raw PostgreSQL select-by-id of the same run. The load
/// runs as an institution client of one station, so the policy is a condition inside every search's SQL; the run
/// first shows that it filters (the station sees fewer residents than the admin), so the figures measure the policy
/// and not an empty answer.
/// </summary>
public static class PolicyBench
{

    private const string Station = "Organization/station-01";

    public static async Task<int> Run(Args options, HttpClient http, string adminToken)
    {
        var offUrl = options.OpenUrl ?? throw new ArgumentException("--open-url (the same build with Auth__Enabled=false) is required");
        await using var db = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(options.Pg) { CommandTimeout = 0 }.ConnectionString);
        var size = await Scalar(db, "select count(*) from fhir.mt_doc_resourcedoc where not deleted");
        Console.WriteLine($"data set: {size:N0} resources; the load runs as a client of {Station} (policy on) and with security off");

        // The station's residents (any care relationship), their names and identifiers: what its staff search for.
        const string mine = "select d.rid, d.resource_id from fhir.mt_doc_resourcedoc d where d.resource_type = 'Patient' and not d.deleted " +
                            "and exists (select 1 from fhir.care_relationship cr where cr.patient_rid = d.rid and cr.institution = '" + Station + "' and cr.ended is null)";
        var patients = await Column(db, $"select resource_id from ({mine}) p order by random() limit 300");
        var feedEnd = await Scalar(db, "select coalesce(max(seq_id), 0) from fhir.mt_events");
        var families = await Column(db, $"select s.exact from fhir.ix_string s join ({mine}) p on p.rid = s.rid where s.rtype = 'Patient' and s.param = 'family' order by random() limit 300");
        var identifiers = await Column(db, $"select t.system || '|' || t.code from fhir.ix_token t join ({mine}) p on p.rid = t.rid where t.rtype = 'Patient' and t.param = 'identifier' and t.system is not null order by random() limit 300");
        if (patients.Count == 0 || families.Count == 0 || identifiers.Count == 0)
            throw new InvalidOperationException($"{Station} has no residents with a care relationship: seed first (./interop.sh bench policy seeds).");

        http.DefaultRequestHeaders.Authorization = new("Bearer", await Auth.ClientToken(http, options.Url, adminToken, "bench-policy-station", "system/*.rs", Station, "clinician"));
        var filtered = await ShowFiltering(http, options.Url, adminToken, patients[0]);

        string Pick(Random r, List<string> from) => Uri.EscapeDataString(from[r.Next(from.Count)]);
        var queries = new List<Query>
        {
            new("Patient name prefix", r => { var f = families[r.Next(families.Count)]; return $"Patient?name={Uri.EscapeDataString(f[..Math.Min(3, f.Length)])}&_count=20"; }),
            new("Patient birthdate+gender", r => { var y = 1940 + r.Next(70); return $"Patient?birthdate=ge{y}-01-01&birthdate=le{y + 4}-12-31&gender={(r.Next(2) == 0 ? "female" : "male")}&_count=20"; }),
            new("Patient identifier", r => $"Patient?identifier={Pick(r, identifiers)}"),
            new("Observation of a resident", r => $"Observation?subject=Patient/{Pick(r, patients)}&_sort=-date&_count=20"),
            new("Encounter date", r => { var m = r.Next(12); var from = new DateOnly(2025, 11, 1).AddMonths(m); return $"Encounter?date=ge{from:yyyy-MM-dd}&date=lt{from.AddDays(7):yyyy-MM-dd}&_count=20"; }),
            new("open referral worklist", _ => $"Task?owner={Station}&status=requested,accepted,in-progress&_sort=-priority,authored-on&_count=20"),
            new("_include service-provider", r => $"Encounter?subject=Patient/{Pick(r, patients)}&_include=Encounter:service-provider&_count=20"),
            new("chain subject:Patient.family", r => $"Encounter?subject:Patient.family={Pick(r, families)}&_count=20"),
            // _has and _has-not look only at resources the station may see (the policy inside the subquery).
            new("_has contract of the station", _ => $"Patient?_has:EpisodeOfCare:patient:organization={Station}&_count=20"),
            new("_has-not active contract", r => $"Patient?family={Pick(r, families)}&_has-not:EpisodeOfCare:patient:status=active&_count=20"),
            // The change feed from a random position: filtered by the policy in its SQL (policy on), the whole feed (off).
            new("$changes page of 50", r => $"$changes?after={r.NextInt64(Math.Max(1, feedEnd - 5_000))}&_count=50"),
        };

        var slice = TimeSpan.FromSeconds(Math.Max(2, options.Seconds / 5.0));
        var rawSelect = await RawBaseline.SelectPerSecond(options.Pg, options.Workers, slice * 2);
        foreach (var q in queries) // warm-up of both servers (JIT, plans, caches)
        {
            await SearchBench.Phase(http, options.Url, [q], options.Workers, TimeSpan.FromSeconds(1));
            await SearchBench.Phase(http, offUrl, [q], options.Workers, TimeSpan.FromSeconds(1));
        }

        Console.WriteLine();
        Console.WriteLine($"security on / off, alternating 4 x 2 slices of {slice.TotalSeconds:F0} s per query ({options.Workers} workers):");
        Console.WriteLine($"{"query",-30}{"on req/s",10}{"off req/s",11}{"on÷off",8}{"on p95",9}{"off p95",9}");
        var rows = new List<object>();
        long errors = 0;
        // The mix is the station's everyday searches, the first eight (as measured since the bench began, so runs
        // compare); _has, _has-not and the change feed are measured on their own beside it.
        var everyday = queries.Take(8).ToList();
        foreach (var q in queries.Append(new Query("mix (the first eight)", _ => "")))
        {
            var set = q.Name.StartsWith("mix", StringComparison.Ordinal) ? everyday : [q];
            var (on, off, onP95, offP95, e) = await Alternating.One(slice, (isOn, d) => SearchBench.Phase(http, isOn ? options.Url : offUrl, set, options.Workers, d));
            errors += e;
            Console.WriteLine($"{q.Name,-30}{on,10:F0}{off,11:F0}{on / off,8:F2}{onP95,9:F1}{offP95,9:F1}");
            rows.Add(new { query = q.Name, onPerSecond = on, offPerSecond = off, ratioOnOff = on / off, onP95Ms = onP95, offP95Ms = offP95, onOverRaw = on / rawSelect, offOverRaw = off / rawSelect });
        }
        Console.WriteLine();
        Console.WriteLine($"raw PostgreSQL select-by-id (same run, {options.Workers} workers): {rawSelect:F0}/s; errors {errors}; goal on÷off ≥ 0.8 each");
        await Report.Write(options.Out, new
        {
            resources = size, station = Station, machine = new { cores = Environment.ProcessorCount, options.Workers, sliceSeconds = slice.TotalSeconds },
            filtering = filtered, rawSelectPerSecond = rawSelect, queries = rows, errors,
        });
        return errors == 0 ? 0 : 1;
    }

    /// <summary>What the station and the admin see of the same searches (totals), so a filtered answer is shown not empty.</summary>
    private static async Task<object> ShowFiltering(HttpClient http, string url, string adminToken, string resident)
    {
        var counts = new List<object>();
        foreach (var search in new[] { "Patient?_summary=count", "Encounter?_summary=count", "Observation?_summary=count", $"Observation?subject=Patient/{resident}&_summary=count" })
        {
            var station = await Total(http, $"{url}/{search}", null);
            var admin = await Total(http, $"{url}/{search}", adminToken);
            Console.WriteLine($"  {search,-58} station {station,9:N0}   admin {admin,9:N0}");
            if (search.StartsWith("Patient", StringComparison.Ordinal) && !(station > 0 && station < admin))
                throw new InvalidOperationException($"the policy does not filter Patients (station {station}, admin {admin}): the figures would not measure it");
            counts.Add(new { search, station, admin });
        }
        return counts;
    }

    private static async Task<long> Total(HttpClient http, string url, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (token is not null) request.Headers.Authorization = new("Bearer", token);
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException($"{url}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.GetProperty("total").GetInt64();
    }

    private static async Task<long> Scalar(NpgsqlDataSource db, string sql)
    {
        await using var cmd = db.CreateCommand(sql);
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    private static async Task<List<string>> Column(NpgsqlDataSource db, string sql)
    {
        await using var cmd = db.CreateCommand(sql);
        await using var reader = await cmd.ExecuteReaderAsync();
        var list = new List<string>();
        while (await reader.ReadAsync()) list.Add(reader.GetString(0));
        return list;
    }
}

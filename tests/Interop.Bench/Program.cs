using Interop.Bench;

// Started by ./interop.sh bench [crud|ingest|search|policy|…]; PostgreSQL and the server are already running.
var options = Args.Parse(args);
Console.WriteLine($"Interop benchmark '{options.Mode}': {options.Workers} workers, {options.Seconds}s per phase, {Environment.ProcessorCount} cores " +
                  "(server, PostgreSQL and load generator share them)");
using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = options.Workers, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
{
    Timeout = TimeSpan.FromMinutes(10),
};
// The load runs with an access token, as every client must (./interop.sh bench gives the servers and this tool
// the same fresh admin secret); the token is fetched once, as a real client keeps it for its lifetime.
// The CRUD load runs as a station's system (an institution client: the access policy applies to every call);
// the search load as the admin, which the policy does not limit (the Synthea data has no relationships to it);
// the policy load (seeded data with care relationships) as a station's client, registered by PolicyBench.
string? admin = null;
if (Environment.GetEnvironmentVariable("INTEROP_ADMIN_SECRET") is { Length: > 0 } secret)
{
    admin = await Auth.Token(http, options.Url, "admin", secret);
    http.DefaultRequestHeaders.Authorization = new("Bearer", options.Mode == "crud" ? await Auth.StationToken(http, options.Url, admin) : admin);
}
return options.Mode switch
{
    "crud" => await CrudBench.Run(options, http),
    "ingest" => await IngestBench.Run(options, http),
    "search" => await SearchBench.Run(options, http),
    "audit" => await AuditBench.Run(options, http, options.Events),
    "validation" => await ValidationBench.Run(options, http),
    "indicators" => await IndicatorBench.Run(options, http),
    "policy" => await PolicyBench.Run(options, http, admin ?? throw new InvalidOperationException("the policy benchmark needs INTEROP_ADMIN_SECRET")),
    _ => throw new ArgumentException($"unknown mode {options.Mode}"),
};

public sealed record Args(string Mode, string Url, string Pg, string Out, int Workers, int Seconds, string? Synthea, string? Bulk, string? OpenUrl = null, long Events = 5_000_000)
{
    public static Args Parse(string[] args)
    {
        string? Get(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        var mode = args.FirstOrDefault(a => !a.StartsWith("--")) ?? "crud";
        // Search latency is reported at two requests in flight per core: with more, p95 measures only the queue.
        var workers = mode is "search" or "policy" ? "4" : "16";
        return new Args(
            mode,
            Get("--url") ?? throw new ArgumentException("--url is required"),
            Get("--pg") ?? throw new ArgumentException("--pg is required"),
            Get("--out") ?? ".bench/results.json",
            int.Parse(Get("--workers") ?? workers),
            int.Parse(Get("--seconds") ?? "15"),
            Get("--synthea"),
            Get("--bulk"),
            Get("--open-url"),
            long.Parse(Get("--events") ?? "5000000"));
    }
}

public static class Auth
{
    /// <summary>Registers (with the admin token) an organisation and a confidential client acting for it; returns that client's token.</summary>
    public static async Task<string> StationToken(HttpClient http, string fhirUrl, string adminToken)
    {
        // Organization/station-7, the managing organisation of the CRUD cycle's episodes (Documents).
        using (var put = new HttpRequestMessage(HttpMethod.Put, fhirUrl.TrimEnd('/') + "/Organization/station-7")
        {
            Content = new StringContent("""{"resourceType":"Organization","id":"station-7","name":"Station 7"}""", System.Text.Encoding.UTF8, "application/fhir+json"),
        })
        {
            put.Headers.Authorization = new("Bearer", adminToken);
            (await http.SendAsync(put)).EnsureSuccessStatusCode();
        }
        return await ClientToken(http, fhirUrl, adminToken, "bench-station", "system/*.cruds", "Organization/station-7", "clinician");
    }

    /// <summary>Registers (with the admin token) a confidential client with these scopes; returns its token.</summary>
    public static async Task<string> ClientToken(HttpClient http, string fhirUrl, string adminToken, string name, string scopes, string? institution, params string[] roles)
    {
        var root = new Uri(new Uri(fhirUrl.TrimEnd('/') + "/"), "../");
        var clientId = name + "-" + Guid.NewGuid().ToString("N")[..8];
        var secret = Guid.NewGuid().ToString("N");
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(root, "admin/clients"))
        {
            Content = new StringContent(System.Text.Json.JsonSerializer.Serialize(new { clientId, type = "confidential", secret, scopes, institution, roles }),
                System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new("Bearer", adminToken);
        using var response = await http.SendAsync(request);
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"register {clientId}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await Token(http, fhirUrl, clientId, secret);
    }

    public static async Task<string> Token(HttpClient http, string fhirUrl, string clientId, string secret)
    {
        var root = new Uri(new Uri(fhirUrl.TrimEnd('/') + "/"), "../");
        var response = await http.PostAsync(new Uri(root, "auth/token"), new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials", ["client_id"] = clientId, ["client_secret"] = secret,
        }));
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"no token from {root}auth/token: {(int)response.StatusCode} {body}");
        return System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("access_token").GetString()!;
    }
}

public static class Report
{
    public static void Header() => Console.WriteLine($"{"operation",-28}{"count",9}{"req/s",9}{"p50 ms",9}{"p95 ms",9}{"p99 ms",9}");

    public static void Row(Stats.Row r) =>
        Console.WriteLine($"{r.Name,-28}{r.Count,9}{r.PerSecond,9:F0}{r.P50,9:F2}{r.P95,9:F2}{r.P99,9:F2}");

    public static async Task Write(string path, object result)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        await File.WriteAllTextAsync(path, System.Text.Json.JsonSerializer.Serialize(result, new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"figures written to {path}");
    }
}

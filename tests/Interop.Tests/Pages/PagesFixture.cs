using System.Net;
using System.Net.Sockets;
using Interop.Fhir.Pipeline;
using Interop.Server.Seed;
using Interop.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace Interop.Tests.Pages;

/// <summary>
/// The real server on a real port (Kestrel, so a browser can reach it), seeded like `./interop.sh seed --residents 40`
/// (the directory, its accounts, 40 residents of seed 1), and Debian's chromium driven by Playwright. Shared by the page
/// tests (one collection): seeding and the 226 accounts' password hashing take about half a minute.
/// </summary>
public sealed class PagesFixture : FhirServerFixture
{
    public const int Seed = 1, ResidentCount = 40;

    public int Port { get; } = FreePort();
    public string Root => $"http://127.0.0.1:{Port}";
    public GroupDirectory Directory { get; } = Staffing.Build();
    public IBrowser Browser { get; private set; } = null!;
    private IPlaywright? _playwright;

    // The change feed's settle time stays at its default (30 s): a refused write's gap is passed as soon as it is known
    // final (Storage/ChangeFeed), which the live referral tests rely on after their refused moves.
    protected override IDictionary<string, string> Settings => new Dictionary<string, string> { ["Fhir:BaseUrl"] = Root + "/fhir" };

    /// <summary>A seeded account's password (users) or secret (clients).</summary>
    public static string Password(string name) => SeedAccounts.Secret(Seed, name);

    /// <summary>The emergency physician of hospital n (clinician, break-glass), e.g. doc-hospital-1-01.</summary>
    public static string HospitalDoctor(int n) => $"doc-hospital-{n}-01";

    /// <summary>Resident i's id (r1-000001…); residents 1–5 have sign-ins (username = id).</summary>
    public static string ResidentId(int i) => $"r{Seed}-{i:D6}";

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        UseKestrel(Port);
        StartServer();
        var seeder = new Seeder(Services.GetRequiredService<FhirPipeline>());
        var report = await seeder.LoadDirectory(Directory, _ => { }, CancellationToken.None);
        if (report.Failures.Count > 0) throw new InvalidOperationException("seeding the directory failed: " + report.Failures[0]);
        await SeedAccounts.Register(Services, Directory, Seed, CancellationToken.None);
        report = await seeder.LoadResidents(new Residents(Directory, Seed, Residents.DefaultAsOf), ResidentCount, 2, true, _ => { }, CancellationToken.None);
        if (report.Failures.Count > 0) throw new InvalidOperationException("seeding the residents failed: " + report.Failures[0]);
        await SeedAccounts.RegisterResidents(Services, new Residents(Directory, Seed, Residents.DefaultAsOf), ResidentCount,
            Interop.Server.Commands.SeedCommand.ResidentAccounts, 0, CancellationToken.None);
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Environment.GetEnvironmentVariable("INTEROP_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium",
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        });
    }

    /// <summary>Clients of the Kestrel server carry the admin token, got over HTTP (there is no in-memory test server here).</summary>
    protected override void ConfigureClient(HttpClient client)
    {
        client.BaseAddress = new Uri(Root);
        _adminToken ??= FetchAdminToken().GetAwaiter().GetResult();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", _adminToken);
    }

    private string? _adminToken;

    private async Task<string> FetchAdminToken()
    {
        using var http = new HttpClient { BaseAddress = new Uri(Root) };
        var form = new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["client_id"] = "admin", ["client_secret"] = AdminSecret };
        var response = await http.PostAsync("/auth/token", new FormUrlEncodedContent(form));
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"admin token: {(int)response.StatusCode} {body}");
        return System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("access_token").GetString()!;
    }

    protected override async Task BeforeDispose()
    {
        if (Browser is not null) await Browser.DisposeAsync();
        _playwright?.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

[CollectionDefinition(Name)]
public sealed class PagesCollection : ICollectionFixture<PagesFixture>
{
    public const string Name = "pages";
}

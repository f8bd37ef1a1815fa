using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Interop.Tests.Infrastructure;

/// <summary>
/// Hosts the real server against the real PostgreSQL that ./interop.sh test starts (INTEROP_TEST_PG),
/// in a database of its own that is dropped afterwards.
/// </summary>
public class FhirServerFixture : WebApplicationFactory<Program>, IAsyncLifetime
{
    public string DatabaseName { get; } = "t_" + Guid.NewGuid().ToString("N")[..20];

    public static string AdminConnectionString =>
        Environment.GetEnvironmentVariable("INTEROP_TEST_PG")
        ?? throw new InvalidOperationException("INTEROP_TEST_PG is not set: run the tests with ./interop.sh test, which starts PostgreSQL.");

    public string ConnectionString => new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = DatabaseName }.ConnectionString;

    /// <summary>Settings a derived fixture wants to change (configuration keys, e.g. Fhir:MaxBodyBytes).</summary>
    protected virtual IDictionary<string, string> Settings => new Dictionary<string, string>();

    public virtual async Task InitializeAsync()
    {
        await using var admin = new NpgsqlConnection(AdminConnectionString);
        await admin.OpenAsync();
        await using var cmd = new NpgsqlCommand($"create database \"{DatabaseName}\"", admin);
        await cmd.ExecuteNonQueryAsync();
    }

    /// <summary>The bootstrap admin client's secret in every test server (Auth:AdminSecret).</summary>
    public const string AdminSecret = "test-admin-secret-0123456789";

    private string? _adminToken;

    /// <summary>
    /// Every client the fixture makes carries an admin access token (client credentials, all system scopes): the
    /// tests run with authorisation on. Use <see cref="Anonymous"/> for a client without one, and
    /// <see cref="Token"/> for other clients' tokens.
    /// </summary>
    protected override void ConfigureClient(HttpClient client)
    {
        base.ConfigureClient(client);
        _adminToken ??= Token("admin", AdminSecret).GetAwaiter().GetResult();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", _adminToken);
    }

    /// <summary>A client without any token.</summary>
    public HttpClient Anonymous() => Server.CreateClient();

    /// <summary>An access token for a client with a secret, by client credentials.</summary>
    public Task<string> Token(string clientId, string secret, string? scope = null) => Token(Server, clientId, secret, scope);

    /// <summary>An access token from any test server's /auth/token, by client credentials.</summary>
    public static async Task<string> Token(Microsoft.AspNetCore.TestHost.TestServer server, string clientId, string secret, string? scope = null)
    {
        using var http = server.CreateClient();
        var form = new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["client_id"] = clientId, ["client_secret"] = secret };
        if (scope is not null) form["scope"] = scope;
        var response = await http.PostAsync("/auth/token", new FormUrlEncodedContent(form));
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"token for {clientId}: {(int)response.StatusCode} {body}");
        return System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("access_token").GetString()!;
    }

    /// <summary>
    /// Registers a confidential client (through the admin API) and returns an HTTP client carrying its token:
    /// tests of what a restricted client may do use this instead of switching authorisation off.
    /// </summary>
    public async Task<HttpClient> ClientWith(string clientId, string scopes, string? institution = null, params string[] roles)
    {
        var secret = "secret-" + Guid.NewGuid().ToString("N");
        var registration = System.Text.Json.JsonSerializer.Serialize(new { clientId, type = "confidential", secret, scopes, institution, roles });
        var created = await CreateClient().PostAsync("/admin/clients", new StringContent(registration, System.Text.Encoding.UTF8, "application/json"));
        if (!created.IsSuccessStatusCode) throw new InvalidOperationException($"register {clientId}: {(int)created.StatusCode} {await created.Content.ReadAsStringAsync()}");
        var http = Server.CreateClient();
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", await Token(clientId, secret));
        return http;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("ConnectionStrings:Interop", ConnectionString);
        builder.UseSetting("Auth:AdminSecret", AdminSecret);
        foreach (var (key, value) in Settings) builder.UseSetting(key, value);
        builder.ConfigureServices(ConfigureTestServices);
    }

    protected virtual void ConfigureTestServices(IServiceCollection services) { }

    /// <summary>What a derived fixture releases before the server stops and its database is dropped.</summary>
    protected virtual Task BeforeDispose() => Task.CompletedTask;

    async Task IAsyncLifetime.DisposeAsync()
    {
        await BeforeDispose();
        await base.DisposeAsync();
        NpgsqlConnection.ClearAllPools();
        await using var admin = new NpgsqlConnection(AdminConnectionString);
        await admin.OpenAsync();
        await using var cmd = new NpgsqlCommand($"drop database if exists \"{DatabaseName}\" with (force)", admin);
        await cmd.ExecuteNonQueryAsync();
    }
}

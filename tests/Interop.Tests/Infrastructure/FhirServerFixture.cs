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

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("ConnectionStrings:Interop", ConnectionString);
        foreach (var (key, value) in Settings) builder.UseSetting(key, value);
        builder.ConfigureServices(ConfigureTestServices);
    }

    protected virtual void ConfigureTestServices(IServiceCollection services) { }

    async Task IAsyncLifetime.DisposeAsync()
    {
        await base.DisposeAsync();
        NpgsqlConnection.ClearAllPools();
        await using var admin = new NpgsqlConnection(AdminConnectionString);
        await admin.OpenAsync();
        await using var cmd = new NpgsqlCommand($"drop database if exists \"{DatabaseName}\" with (force)", admin);
        await cmd.ExecuteNonQueryAsync();
    }
}

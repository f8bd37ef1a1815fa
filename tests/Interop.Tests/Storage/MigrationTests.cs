using System.Net;
using Interop.Fhir.Storage;
using Interop.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Npgsql;

namespace Interop.Tests.Storage;

/// <summary>Numbered migrations: recorded, applied once, required when a server may not migrate, refused when newer.</summary>
public sealed class MigrationTests(FhirServerFixture server) : IClassFixture<FhirServerFixture>
{
    private sealed class Server(string connectionString, bool migrate) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Testing");
            builder.UseSetting("ConnectionStrings:Interop", connectionString);
            builder.UseSetting("Fhir:MigrateOnStart", migrate ? "true" : "false");
        }
    }

    private static async Task<T> Scalar<T>(string connectionString, string sql)
    {
        await using var db = new NpgsqlConnection(connectionString);
        await db.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, db);
        return (T)(await cmd.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task Every_migration_is_recorded_once()
    {
        Assert.Equal(HttpStatusCode.OK, (await server.CreateClient().GetAsync("/fhir/metadata")).StatusCode);
        Assert.Equal(Migrations.Latest, await Scalar<int>(server.ConnectionString, "select max(version) from fhir.interop_migrations"));
        Assert.Equal((long)Migrations.All.Length, await Scalar<long>(server.ConnectionString, "select count(*) from fhir.interop_migrations"));
        Assert.True(await Scalar<bool>(server.ConnectionString, "select to_regclass('fhir.ix_uri_trgm') is not null"));
    }

    [Fact]
    public async Task A_server_that_may_not_migrate_requires_a_migrated_database_and_none_starts_on_a_newer_one()
    {
        var name = "t_" + Guid.NewGuid().ToString("N")[..20];
        await Scalar<int>(FhirServerFixture.AdminConnectionString, $"create database \"{name}\"; select 1");
        var connection = new NpgsqlConnectionStringBuilder(FhirServerFixture.AdminConnectionString) { Database = name }.ConnectionString;
        try
        {
            using (var unmigrated = new Server(connection, migrate: false))
                Assert.Contains("./interop.sh migrate", Assert.ThrowsAny<Exception>(() => unmigrated.CreateClient()).ToString());
            using (var migrating = new Server(connection, migrate: true))
                Assert.Equal(HttpStatusCode.OK, (await migrating.CreateClient().GetAsync("/fhir/metadata")).StatusCode);
            using (var migrated = new Server(connection, migrate: false))
                Assert.Equal(HttpStatusCode.OK, (await migrated.CreateClient().GetAsync("/fhir/metadata")).StatusCode);
            await Scalar<int>(connection, $"insert into fhir.interop_migrations (version, name) values ({Migrations.Latest + 1}, 'from a newer server'); select 1");
            using var older = new Server(connection, migrate: true);
            Assert.Contains("newer than this server", Assert.ThrowsAny<Exception>(() => older.CreateClient()).ToString());
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await Scalar<int>(FhirServerFixture.AdminConnectionString, $"drop database if exists \"{name}\" with (force); select 1");
        }
    }
}

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
    private sealed class Server(string connectionString, bool migrate, string? grantTo = null) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Testing");
            builder.UseSetting("ConnectionStrings:Interop", connectionString);
            builder.UseSetting("Fhir:MigrateOnStart", migrate ? "true" : "false");
            if (grantTo is not null) builder.UseSetting("Fhir:GrantTo", grantTo);
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

    [Fact]
    public async Task The_server_can_run_as_a_role_that_only_reads_and_writes_rows()
    {
        var name = "t_" + Guid.NewGuid().ToString("N")[..20];
        var role = "app_" + Guid.NewGuid().ToString("N")[..16];
        await Scalar<int>(FhirServerFixture.AdminConnectionString, $"create database \"{name}\"; create role {role} login password 'app-secret'; select 1");
        var owner = new NpgsqlConnectionStringBuilder(FhirServerFixture.AdminConnectionString) { Database = name }.ConnectionString;
        var app = new NpgsqlConnectionStringBuilder(owner) { Username = role, Password = "app-secret" }.ConnectionString;
        try
        {
            using (var migrator = new Server(owner, migrate: true, grantTo: role))
                Assert.Equal(HttpStatusCode.OK, (await migrator.CreateClient().GetAsync("/fhir/metadata")).StatusCode);
            using (var server = new Server(app, migrate: false))
            {
                var client = server.CreateClient();
                var id = await client.CreateId(new Hl7.Fhir.Model.Patient { Active = true, Name = [new Hl7.Fhir.Model.HumanName { Family = "Least" }] });
                Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/fhir/Patient/{id}")).StatusCode);
                Assert.Equal(HttpStatusCode.OK, (await client.PutAsync($"/fhir/Patient/{id}", FhirTest.Body(new Hl7.Fhir.Model.Patient { Id = id, Active = false }))).StatusCode);
                Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/fhir/Patient?family=least")).StatusCode);
                Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/fhir/Patient/{id}")).StatusCode);
            }
            foreach (var ddl in new[] { "create table fhir.x (a int)", "drop table fhir.ix_string", "alter table fhir.mt_doc_resourcedoc add column x int", "truncate fhir.ix_token" })
            {
                var e = await Assert.ThrowsAsync<PostgresException>(() => Scalar<int>(app, ddl + "; select 1"));
                Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, e.SqlState);
            }
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await Scalar<int>(FhirServerFixture.AdminConnectionString, $"drop database if exists \"{name}\" with (force); drop role if exists {role}; select 1");
        }
    }
}

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
            builder.UseSetting("Auth:AdminSecret", FhirServerFixture.AdminSecret);
        }

        protected override void ConfigureClient(HttpClient client)
        {
            base.ConfigureClient(client);
            client.DefaultRequestHeaders.Authorization = new("Bearer", FhirServerFixture.Token(Server, "admin", FhirServerFixture.AdminSecret).GetAwaiter().GetResult());
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
            // Started again, Marten compares its tables once more: the migrations' indexes on its table stay (it dropped them before).
            using (var again = new Server(connection, migrate: true))
                Assert.Equal(HttpStatusCode.OK, (await again.CreateClient().GetAsync("/fhir/metadata")).StatusCode);
            foreach (var index in SearchSchema.OnResourceTable)
                Assert.True(await Scalar<bool>(connection, $"select to_regclass('fhir.{index}') is not null"), $"{index} is missing");
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

                // A bulk load refreshes the planner's statistics through the owner's function (the role may not
                // analyze itself): before, the index tables had none (analyzed empty at migration).
                Assert.Equal(0L, await Scalar<long>(owner, "select count(*) from pg_stats where schemaname = 'fhir' and tablename = 'ix_quantity'"));
                var bundle = new Hl7.Fhir.Model.Bundle { Type = Hl7.Fhir.Model.Bundle.BundleType.Transaction };
                for (var i = 0; i < 600; i++)
                    bundle.Entry.Add(new Hl7.Fhir.Model.Bundle.EntryComponent
                    {
                        Resource = new Hl7.Fhir.Model.Observation
                        {
                            Status = Hl7.Fhir.Model.ObservationStatus.Final,
                            Code = new Hl7.Fhir.Model.CodeableConcept("http://loinc.org", "39156-5"),
                            Value = new Hl7.Fhir.Model.Quantity(20 + i % 20, "kg/m2"),
                        },
                        Request = new Hl7.Fhir.Model.Bundle.RequestComponent { Method = Hl7.Fhir.Model.Bundle.HTTPVerb.POST, Url = "Observation" },
                    });
                Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/fhir", FhirTest.Body(bundle))).StatusCode);
                Assert.True(await Scalar<long>(owner, "select count(*) from pg_stats where schemaname = 'fhir' and tablename = 'ix_quantity'") > 0);
                Assert.Contains("Observation", await Scalar<string>(owner,
                    "select most_common_vals::text from pg_stats where schemaname = 'fhir' and tablename = 'mt_doc_resourcedoc' and attname = 'resource_type'"));
            }
            foreach (var ddl in new[] { "create table fhir.x (a int)", "drop table fhir.ix_string", "alter table fhir.mt_doc_resourcedoc add column x int", "truncate fhir.ix_token", "create table auth.x (a int)", "drop table auth.keys" })
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

    [Fact]
    public async Task Compact_keys_are_the_same_number_in_CSharp_and_in_SQL_and_every_index_row_has_its_resource()
    {
        string[] keys = ["Patient/1", "Observation/01a21495-1e98-716d-8f1c-c87fac0d560e", "Basic/Wáng.王-x"];
        foreach (var key in keys)
        {
            await using var db = new NpgsqlConnection(server.ConnectionString);
            await db.OpenAsync();
            await using var cmd = new NpgsqlCommand("select fhir.key_rid($1)", db);
            cmd.Parameters.AddWithValue(key);
            Assert.Equal(CompactKeys.Rid(key), (long)(await cmd.ExecuteScalarAsync())!);
        }
        var client = server.CreateClient();
        var patient = await client.CreateId(new Hl7.Fhir.Model.Patient { Name = [new Hl7.Fhir.Model.HumanName { Family = "Compact" }] });
        await client.CreateId(new Hl7.Fhir.Model.Observation
        {
            Status = Hl7.Fhir.Model.ObservationStatus.Final, Code = new Hl7.Fhir.Model.CodeableConcept("http://loinc.org", "8480-6"),
            Subject = new Hl7.Fhir.Model.ResourceReference($"Patient/{patient}"),
        });
        foreach (var table in SearchSchema.Tables)
            Assert.Equal(0L, await Scalar<long>(server.ConnectionString,
                $"select count(*) from fhir.{table} x left join fhir.mt_doc_resourcedoc r on r.rid = x.rid where r.id is null"));
        Assert.True(await Scalar<bool>(server.ConnectionString,
            $"select exists (select 1 from fhir.ix_reference where target_rid = fhir.key_rid('Patient/{patient}'))"));
    }

    [Fact]
    public async Task Migration_3_rekeys_an_index_written_before_it()
    {
        var name = "t_" + Guid.NewGuid().ToString("N")[..20];
        await Scalar<int>(FhirServerFixture.AdminConnectionString, $"create database \"{name}\"; select 1");
        var connection = new NpgsqlConnectionStringBuilder(FhirServerFixture.AdminConnectionString) { Database = name }.ConnectionString;
        try
        {
            string patient, observation;
            using (var current = new Server(connection, migrate: true))
            {
                var client = current.CreateClient();
                patient = await client.CreateId(new Hl7.Fhir.Model.Patient { Identifier = [new Hl7.Fhir.Model.Identifier("urn:old", "7")] });
                observation = await client.CreateId(new Hl7.Fhir.Model.Observation
                {
                    Status = Hl7.Fhir.Model.ObservationStatus.Final, Code = new Hl7.Fhir.Model.CodeableConcept("http://loinc.org", "8480-6"),
                    Subject = new Hl7.Fhir.Model.ResourceReference($"Patient/{patient}"),
                });
            }
            NpgsqlConnection.ClearAllPools();
            // Back to schema 2 as an older server left it: index tables keyed by text, written by hand here.
            await Scalar<int>(connection, string.Join(";", SearchSchema.Tables.Select(t => $"drop table fhir.{t}")) +
                "; update fhir.mt_doc_resourcedoc set rid = null; delete from fhir.interop_migrations where version >= 3; select 1");
            await Scalar<int>(connection, Migrations.All[0].Sql + "; select 1");
            await Scalar<int>(connection, $"""
                insert into fhir.ix_token (rkey, rtype, param, system, code) values ('Patient/{patient}', 'Patient', 'identifier', 'urn:old', '7');
                insert into fhir.ix_reference (rkey, rtype, param, target_type, target_id, target_key)
                    values ('Observation/{observation}', 'Observation', 'subject', 'Patient', '{patient}', 'Patient/{patient}');
                insert into fhir.ix_token (rkey, rtype, param, system, code) values ('Observation/{observation}', 'Observation', 'code', 'http://loinc.org', '8480-6');
                select 1
                """);
            using var upgraded = new Server(connection, migrate: true);
            var http = upgraded.CreateClient();
            async Task<string[]> Ids(string query) =>
                (await (await http.GetAsync("/fhir/" + query)).ReadJson())["entry"]?.AsArray().Select(e => e!["resource"]!["id"]!.GetValue<string>()).ToArray() ?? [];
            Assert.Equal([patient], await Ids("Patient?identifier=urn:old|7"));
            Assert.Equal([observation], await Ids($"Observation?subject=Patient/{patient}"));
            Assert.Equal([observation], await Ids("Observation?subject:Patient.identifier=urn:old|7&code=8480-6"));
            Assert.Equal(Migrations.Latest, await Scalar<int>(connection, "select max(version) from fhir.interop_migrations"));
            Assert.False(await Scalar<bool>(connection, "select exists (select 1 from information_schema.columns where table_schema = 'fhir' and column_name = 'rkey')"));
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await Scalar<int>(FhirServerFixture.AdminConnectionString, $"drop database if exists \"{name}\" with (force); select 1");
        }
    }
}

using System.Net;
using Hl7.Fhir.Model;
using Interop.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Interop.Tests.Robustness;

/// <summary>Issue 8, items 3 to 6: pooled connections are never leaked or poisoned, lock waits are bounded, and no
/// interleaving of writers deadlocks into a 500 or a hang. The pool here has 10 connections.</summary>
public sealed class ConnectionTests(RobustnessFixture server) : IClassFixture<RobustnessFixture>
{
    private static Bundle.EntryComponent Entry(Resource resource, Bundle.HTTPVerb method, string url, string? ifNoneExist = null) => new()
    {
        FullUrl = $"urn:uuid:{Guid.NewGuid()}", Resource = resource,
        Request = new Bundle.RequestComponent { Method = method, Url = url, IfNoneExist = ifNoneExist },
    };

    [Fact]
    public async Task Failed_conditional_creates_leak_no_connection()
    {
        var client = server.CreateClient();
        for (var i = 0; i < 100; i++)
        {
            var request = FhirTest.Request(HttpMethod.Post, "/fhir/Patient", new Patient { Active = true }.ToJson(), ("If-None-Exist", "identifier=urn:x|a%00"));
            await Hostile.AssertRefused(await client.SendAsync(request), 400);
        }
        // With ten connections, one leaked per failure would have exhausted the pool long ago.
        var id = await client.CreateId(new Patient { Active = true });
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/fhir/Patient/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
    }

    [Fact]
    public async Task Searches_with_a_nul_are_400_and_leave_no_broken_connection_behind()
    {
        var client = server.CreateClient();
        var data = new TestData(client);
        var id = await data.Create(new Patient { Name = [new HumanName { Family = "Nul" }] });
        for (var i = 0; i < 20; i++)
        {
            var issues = await Hostile.AssertRefused(await client.GetAsync("/fhir/Patient?name=a%00b"), 400);
            Assert.Equal("name", issues[0].Expression);
        }
        var statuses = await System.Threading.Tasks.Task.WhenAll(Enumerable.Range(0, 300).Select(_ => client.GetAsync(data.Scoped("/fhir/Patient?name=nul"))));
        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s.StatusCode));
        Assert.Equal([id], TestData.Matches(await statuses[^1].ReadJson()));
    }

    [Fact]
    public async Task Identical_conditional_creates_and_a_long_transaction_neither_exhaust_the_pool_nor_fail()
    {
        var client = server.CreateClient();
        var system = $"urn:test:{Guid.NewGuid():N}";
        Patient Wanted() => new() { Identifier = [new Identifier(system, "one")] };
        var criteria = $"identifier={system}|one";
        var big = new Bundle { Type = Bundle.BundleType.Transaction };
        big.Entry.Add(Entry(Wanted(), Bundle.HTTPVerb.POST, "Patient", criteria));
        for (var i = 0; i < 1500; i++) big.Entry.Add(Entry(new Observation { Status = ObservationStatus.Final, Code = new CodeableConcept("http://loinc.org", "1") }, Bundle.HTTPVerb.POST, "Observation"));
        var transaction = client.PostAsync("/fhir", FhirTest.Body(big));
        var creates = Enumerable.Range(0, 60).Select(_ =>
            client.SendAsync(FhirTest.Request(HttpMethod.Post, "/fhir/Patient", Wanted().ToJson(), ("If-None-Exist", criteria)))).ToList();
        var reads = Enumerable.Range(0, 20).Select(_ => client.GetAsync("/fhir/metadata")).ToList();
        var all = await System.Threading.Tasks.Task.WhenAll(creates.Append(transaction).Concat(reads));
        Assert.All(all, r => Assert.True((int)r.StatusCode is 200 or 201 or 409 or 503, $"{(int)r.StatusCode} {r.Content.ReadAsStringAsync().Result}"));
        Assert.Contains(all, r => r.StatusCode == HttpStatusCode.Created);
        var found = await (await client.GetAsync($"/fhir/Patient?identifier={system}|one&_total=accurate")).ReadJson();
        Assert.Equal(1, found["total"]!.GetValue<int>());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
    }

    [Fact]
    public async Task Transactions_updating_the_same_resources_in_opposite_orders_all_commit()
    {
        var client = server.CreateClient();
        var a = await client.CreateId(new Patient { Active = true });
        var b = await client.CreateId(new Patient { Active = true });
        Bundle Update(int n, bool reverse)
        {
            var bundle = new Bundle { Type = Bundle.BundleType.Transaction };
            var ids = reverse ? new[] { b, a } : [a, b];
            foreach (var id in ids)
                bundle.Entry.Add(new Bundle.EntryComponent
                {
                    Resource = new Patient { Id = id, BirthDate = $"19{10 + n % 80}" },
                    Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.PUT, Url = $"Patient/{id}" },
                });
            return bundle;
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var workers = Enumerable.Range(0, 8).Select(async w =>
        {
            var statuses = new List<HttpStatusCode>();
            for (var i = 0; i < 20; i++)
                statuses.Add((await client.PostAsync("/fhir", FhirTest.Body(Update(i, w % 2 == 1)), timeout.Token)).StatusCode);
            return statuses;
        });
        var results = (await System.Threading.Tasks.Task.WhenAll(workers)).SelectMany(s => s).ToList();
        Assert.Equal(160, results.Count);
        Assert.All(results, s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.Equal("W/\"161\"", (await client.GetAsync($"/fhir/Patient/{a}")).Headers.ETag?.ToString());
    }

    [Fact]
    public async Task Search_cost_is_bounded_by_criteria_count_and_by_statement_time()
    {
        var client = server.CreateClient();
        var many = string.Join("&", Enumerable.Range(0, 300).Select(i => $"family=a{i}"));
        var issues = await Hostile.AssertRefused(await client.GetAsync($"/fhir/Patient?{many}"), 400);
        Assert.Contains("limit is 40", issues[0].Diagnostics);
        var values = string.Join(",", Enumerable.Range(0, 150).Select(i => $"a{i}"));
        Assert.Contains("100", (await Hostile.AssertRefused(await client.GetAsync($"/fhir/Patient?family={values}"), 400))[0].Diagnostics);

        // A search stuck behind a lock past the statement time limit (2 s here) is stopped: 503 with Retry-After.
        await using var blocker = new NpgsqlConnection(server.ConnectionString);
        await blocker.OpenAsync();
        await using var tx = await blocker.BeginTransactionAsync();
        await using (var lockTable = new NpgsqlCommand("lock table fhir.ix_string in access exclusive mode", blocker, tx)) await lockTable.ExecuteNonQueryAsync();
        var stuck = await client.GetAsync("/fhir/Patient?family=stuck");
        await tx.RollbackAsync();
        await Hostile.AssertRefused(stuck, 503);
        Assert.NotNull(stuck.Headers.RetryAfter);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/fhir/Patient?family=stuck")).StatusCode);
    }

    [Fact]
    public async Task Readiness_tells_an_exhausted_pool_from_a_database_that_is_down()
    {
        var client = server.CreateClient();
        var pool = server.Services.GetRequiredService<NpgsqlDataSource>();
        var held = new List<NpgsqlConnection>();
        try
        {
            // Take every free connection of the pool of 10.
            for (var i = 0; i < 10; i++)
            {
                using var quick = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                try { held.Add(await pool.OpenConnectionAsync(quick.Token)); }
                catch (Exception e) when (e is OperationCanceledException or NpgsqlException) { break; }
            }
            // Background work holds up to four for good: three LISTEN connections (conformance, subscriptions'
            // sockets, search parameters) and the access log's group commit.
            Assert.InRange(held.Count, 6, 10);
            var health = await client.GetAsync("/health/ready");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
            Assert.Contains("pool exhausted", await health.Content.ReadAsStringAsync());
            await Hostile.AssertRefused(await client.GetAsync("/fhir/Patient/x"), 503);
        }
        finally
        {
            foreach (var c in held) await c.DisposeAsync();
        }
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
    }

    [Fact]
    public async Task A_client_that_gives_up_on_a_slow_request_leaves_nothing_behind()
    {
        var client = server.CreateClient();
        await using var blocker = new NpgsqlConnection(server.ConnectionString);
        await blocker.OpenAsync();
        await using var tx = await blocker.BeginTransactionAsync();
        await using (var lockTable = new NpgsqlCommand("lock table fhir.ix_string in access exclusive mode", blocker, tx)) await lockTable.ExecuteNonQueryAsync();
        // Ten clients (the pool's size) abandon searches stuck behind the lock.
        var abandoned = Enumerable.Range(0, 10).Select(async i =>
        {
            using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetAsync($"/fhir/Patient?family=gone{i}", cancel.Token));
        });
        await System.Threading.Tasks.Task.WhenAll(abandoned);
        await tx.RollbackAsync();
        // The cancelled statements were stopped and their connections returned in a usable state.
        var after = await System.Threading.Tasks.Task.WhenAll(Enumerable.Range(0, 30).Select(_ => client.GetAsync("/fhir/Patient?family=after")));
        Assert.All(after, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
    }

    [Fact]
    public async Task Patch_without_if_match_under_contention_retries_like_put()
    {
        var client = server.CreateClient();
        var id = await client.CreateId(new Patient { Active = true });
        var patches = Enumerable.Range(0, 30).Select(i => client.SendAsync(new HttpRequestMessage(HttpMethod.Patch, $"/fhir/Patient/{id}")
        {
            Content = new StringContent($$"""[{"op":"add","path":"/birthDate","value":"19{{10 + i}}"}]""", System.Text.Encoding.UTF8, "application/json-patch+json"),
        }));
        var responses = await System.Threading.Tasks.Task.WhenAll(patches);
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal("W/\"31\"", (await client.GetAsync($"/fhir/Patient/{id}")).Headers.ETag?.ToString());
    }
}

/// <summary>Issue 8, item 7: while PostgreSQL refuses connections every call is a 503 with Retry-After; it recovers by itself.</summary>
public sealed class DatabaseDownTests(RobustnessFixture server) : IClassFixture<RobustnessFixture>
{
    [Fact]
    public async Task Database_unavailable_is_503_with_retry_after_and_the_server_recovers()
    {
        var client = server.CreateClient();
        var id = await client.CreateId(new Patient { Active = true });
        await Admin($"alter database \"{server.DatabaseName}\" allow_connections false; " +
                    $"select pg_terminate_backend(pid) from pg_stat_activity where datname = '{server.DatabaseName}'");
        try
        {
            foreach (var url in new[] { $"/fhir/Patient/{id}", "/fhir/Patient?name=x", $"/fhir/Patient/{id}/_history" })
            {
                var response = await client.GetAsync(url);
                await Hostile.AssertRefused(response, 503);
                Assert.NotNull(response.Headers.RetryAfter);
            }
            var write = await client.PostAsync("/fhir/Patient", FhirTest.Body(new Patient { Active = false }));
            await Hostile.AssertRefused(write, 503);
            var health = await client.GetAsync("/health/ready");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
            Assert.Contains("database down", await health.Content.ReadAsStringAsync());
        }
        finally
        {
            await Admin($"alter database \"{server.DatabaseName}\" allow_connections true");
        }
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/fhir/Patient/{id}")).StatusCode);
    }

    private static async Task Admin(string sql)
    {
        await using var admin = new NpgsqlConnection(FhirServerFixture.AdminConnectionString);
        await admin.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, admin);
        await cmd.ExecuteNonQueryAsync();
    }
}

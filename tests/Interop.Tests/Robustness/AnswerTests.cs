using System.Net;
using System.Text.Json.Nodes;
using Hl7.Fhir.Model;
using Interop.Fhir.Storage;
using Interop.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Npgsql;

namespace Interop.Tests.Robustness;

/// <summary>Issue 8, items 15 to 22 and 26: wrong answers and partial work.</summary>
public sealed class AnswerTests(FhirServerFixture server) : IClassFixture<FhirServerFixture>
{
    [Fact]
    public async Task A_batch_answers_each_entry_on_its_own()
    {
        var client = server.CreateClient();
        var system = $"urn:test:{Guid.NewGuid():N}";
        string Entry(string value) => $$$"""{"resource":{"resourceType":"Patient","identifier":[{"system":"{{{system}}}","value":"{{{value}}}"}]},"request":{"method":"POST","url":"Patient"}}""";
        var bundle = $$"""{"resourceType":"Bundle","type":"batch","entry":[{{Entry("a")}},{{Entry(@"b\u0000")}},{{Entry("c")}}]}""";
        var response = await client.PostAsync("/fhir", FhirTest.Body(bundle));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var statuses = (await response.ReadJson())["entry"]!.AsArray().Select(e => e!["response"]!["status"]!.GetValue<string>()).ToList();
        Assert.StartsWith("201", statuses[0]);
        Assert.StartsWith("400", statuses[1]);
        Assert.StartsWith("201", statuses[2]);
        var found = await (await client.GetAsync($"/fhir/Patient?identifier={system}|&_total=accurate")).ReadJson();
        Assert.Equal(2, found["total"]!.GetValue<int>());
    }

    [Fact]
    public async Task Parameters_has_no_rest_endpoint()
    {
        var client = server.CreateClient();
        var response = await client.PostAsync("/fhir/Parameters", FhirTest.Body("""{"resourceType":"Parameters","parameter":[{"name":"a","valueString":"b"}]}"""));
        Assert.Contains("no RESTful endpoint", (await Hostile.AssertRefused(response, 404))[0].Diagnostics);
        await Hostile.AssertRefused(await client.GetAsync("/fhir/Parameters/1"), 404);
    }

    [Fact]
    public async Task A_period_ends_with_its_end_at_the_end_precision()
    {
        var data = new TestData(server.CreateClient());
        var id = await data.Create(new EpisodeOfCare
        {
            Status = EpisodeOfCare.EpisodeOfCareStatus.Finished, Patient = new ResourceReference("Patient/x"),
            Period = new Period { Start = "1990", End = "1990-06" },
        });
        Assert.Empty(await data.Ids("/fhir/EpisodeOfCare?date=gt1990-06"));
        Assert.Equal([id], await data.Ids("/fhir/EpisodeOfCare?date=eb1990-07"));
        Assert.Equal([id], await data.Ids("/fhir/EpisodeOfCare?date=sa1989-12"));
        Assert.Empty(await data.Ids("/fhir/EpisodeOfCare?date=1990-03")); // eq: the period is not within March
    }

    [Fact]
    public async Task Uri_parameters_take_contains()
    {
        var data = new TestData(server.CreateClient());
        var id = await data.Create(new ValueSet { Status = PublicationStatus.Active, Url = "http://interop.example/fhir/ValueSet/chronic-conditions" });
        Assert.Equal([id], await data.Ids("/fhir/ValueSet?url:contains=chronic"));
        Assert.Empty(await data.Ids("/fhir/ValueSet?url:contains=acute"));
    }

    [Fact]
    public async Task Operations_take_post_with_a_parameters_body_and_get()
    {
        var client = server.CreateClient();
        var id = await client.CreateId(new Patient { Active = true });
        var parameters = new Parameters();
        parameters.Add("_count", new Integer(5));
        var post = await client.PostAsync($"/fhir/Patient/{id}/$everything", FhirTest.Body(parameters));
        Assert.Equal(HttpStatusCode.OK, post.StatusCode);
        Assert.Contains((await post.ReadJson())["entry"]!.AsArray(), e => e!["resource"]!["id"]!.GetValue<string>() == id);
        var empty = new HttpRequestMessage(HttpMethod.Post, $"/fhir/Patient/{id}/$everything") { Content = new ByteArrayContent([]) };
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(empty)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/fhir/Patient/{id}/$everything")).StatusCode);
    }

    [Fact]
    public async Task Oversized_urls_and_headers_get_an_operation_outcome()
    {
        var client = server.CreateClient();
        var url = await client.GetAsync("/fhir/Patient?name=" + new string('a', 9000));
        Assert.Contains("_search", (await Hostile.AssertRefused(url, 414))[0].Diagnostics);
        var request = new HttpRequestMessage(HttpMethod.Get, "/fhir/metadata");
        request.Headers.TryAddWithoutValidation("X-Big", new string('h', 40_000));
        await Hostile.AssertRefused(await client.SendAsync(request), 431);
    }

    [Fact]
    public async Task Links_use_the_configured_base_url_not_the_host_header()
    {
        var client = server.CreateClient();
        var request = new HttpRequestMessage(HttpMethod.Post, "/fhir/Patient") { Content = FhirTest.Body(new Patient { Active = true }) };
        request.Headers.Host = "evil.example";
        var created = await client.SendAsync(request);
        Assert.StartsWith("http://localhost/fhir/Patient/", created.Headers.Location!.ToString());
        var search = new HttpRequestMessage(HttpMethod.Get, "/fhir/Patient?_count=1");
        search.Headers.Host = "evil.example";
        var bundle = await (await client.SendAsync(search)).ReadJson();
        Assert.All(bundle["link"]!.AsArray(), l => Assert.StartsWith("http://localhost/fhir/", l!["url"]!.GetValue<string>()));
    }

    [Fact]
    public void Database_errors_are_described_without_their_text()
    {
        var error = new PostgresException("invalid input syntax for type integer: \"Wang Xiuying 440303195003010021\"", "ERROR", "ERROR", "22P02");
        var line = DatabaseErrors.Describe(new InvalidOperationException("wrapped", error));
        Assert.Contains("22P02", line);
        Assert.DoesNotContain("Wang", line);
        Assert.Equal(Interop.Fhir.Errors.ErrorKind.Invalid, DatabaseErrors.Classify(error)!.Kind);
        Assert.DoesNotContain("Wang", DatabaseErrors.Classify(error)!.Message);
    }

    [Fact]
    public async Task A_restart_with_an_unchanged_schema_runs_no_ddl_so_it_does_not_wait_for_writers()
    {
        Assert.Equal(HttpStatusCode.OK, (await server.CreateClient().GetAsync("/fhir/metadata")).StatusCode);
        await using var writer = new NpgsqlConnection(server.ConnectionString);
        await writer.OpenAsync();
        await using var tx = await writer.BeginTransactionAsync();
        // A long-running writer (an import) holds a lock that any DDL on the index tables would queue behind.
        await using (var hold = new NpgsqlCommand("lock table fhir.ix_string in row exclusive mode", writer, tx)) await hold.ExecuteNonQueryAsync();
        using var second = new SameDatabase(server.ConnectionString);
        var start = System.Threading.Tasks.Task.Run(() => second.CreateClient().GetAsync("/fhir/metadata"));
        var finished = await System.Threading.Tasks.Task.WhenAny(start, System.Threading.Tasks.Task.Delay(TimeSpan.FromSeconds(30))) == start;
        await tx.RollbackAsync();
        Assert.True(finished, "a second server on the same database waited for the writer's lock at start");
        Assert.Equal(HttpStatusCode.OK, (await start).StatusCode);
    }

    private sealed class SameDatabase(string connectionString) : Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(Microsoft.AspNetCore.Hosting.IWebHostBuilder builder)
        {
            builder.UseEnvironment("Testing");
            builder.UseSetting("ConnectionStrings:Interop", connectionString);
        }
    }
}

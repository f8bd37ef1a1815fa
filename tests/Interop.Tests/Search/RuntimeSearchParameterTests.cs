using Microsoft.AspNetCore.Hosting;
using System.Net;
using System.Text.Json.Nodes;
using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using Interop.Fhir.Indexing;
using Interop.Fhir.Search;
using Interop.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Interop.Tests.Search;

/// <summary>
/// A SearchParameter an admin stores at run time: checked before it is stored, indexed on every write from then on,
/// backfilled for the resources stored before, used by every server on the database without a restart, listed in the
/// CapabilityStatement, and gone (parameter and index rows) when deleted.
/// </summary>
public sealed class RuntimeSearchParameterTests(FhirServerFixture server) : IClassFixture<FhirServerFixture>
{
    private static readonly string Unique = Guid.NewGuid().ToString("N")[..8];
    private static readonly string ExtensionUrl = $"https://interop.example/fhir/StructureDefinition/nickname-{Unique}";

    private static string Patient(string nickname) => $$"""
        {"resourceType":"Patient","name":[{"family":"Runtime"}],"extension":[{"url":"{{ExtensionUrl}}","valueString":"{{nickname}}"}]}
        """;

    private static string Parameter(string id, string code, string expression, string type = "string", string @base = "Patient") => $$"""
        {"resourceType":"SearchParameter","id":"{{id}}","url":"https://interop.example/fhir/SearchParameter/{{id}}","name":"{{code}}","status":"active",
         "description":"A test parameter","code":"{{code}}","base":["{{@base}}"],"type":"{{type}}","expression":"{{expression}}"}
        """;

    private static async Task<string> Create(HttpClient client, string json)
    {
        var response = await client.PostAsync("/fhir/Patient", FhirTest.Body(json));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.ReadJson())["id"]!.GetValue<string>();
    }

    private static HttpRequestMessage Strict(string url) => FhirTest.Request(HttpMethod.Get, url, null, ("Prefer", "handling=strict"));

    /// <summary>Searches until the parameter's backfill has finished (409 until then), and returns the matching ids.</summary>
    private static async Task<List<string>> SearchWhenIndexed(HttpClient client, string url)
    {
        for (var i = 0; ; i++)
        {
            var response = await client.SendAsync(Strict(url));
            if (response.StatusCode == HttpStatusCode.OK)
                return (await response.ReadJson())["entry"]?.AsArray().Select(e => e!["resource"]!["id"]!.GetValue<string>()).ToList() ?? [];
            // While it is being indexed the answer is a 409 that says so; nothing else is acceptable.
            Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
            Assert.Contains("being indexed", await response.Content.ReadAsStringAsync());
            Assert.True(i < 200, $"{url} still being indexed after 20 s");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task An_uploaded_parameter_finds_old_and_new_resources_on_every_server_until_it_is_deleted()
    {
        var client = server.CreateClient();
        var code = $"nickname-{Unique}";
        var value = $"Bo{Unique}";
        var old = await Create(client, Patient(value));
        var unknown = await client.SendAsync(Strict($"/fhir/Patient?{code}={value}"));
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Contains($"Unknown search parameter '{code}'", await unknown.Content.ReadAsStringAsync());

        // Another server on the same database, started before the upload: it must hear of it through PostgreSQL.
        await using var other = new SecondServer(server.ConnectionString);
        var otherClient = other.CreateClient();

        var id = $"nickname-{Unique}";
        var expression = $"Patient.extension.where(url = '{ExtensionUrl}').value";
        var stored = await client.PutAsync($"/fhir/SearchParameter/{id}", FhirTest.Body(Parameter(id, code, expression)));
        Assert.Equal(HttpStatusCode.Created, stored.StatusCode);
        var fresh = await Create(client, Patient(value));

        var found = await SearchWhenIndexed(client, $"/fhir/Patient?{code}={value}&_count=100");
        Assert.Equal(new[] { old, fresh }.Order(), found.Order());
        Assert.Empty(await SearchWhenIndexed(client, $"/fhir/Patient?{code}=nobody{Unique}"));

        // The backfill's record: ready, with the resource stored before counted.
        var db = server.Services.GetRequiredService<NpgsqlDataSource>();
        await using (var job = db.CreateCommand("select state, indexed from fhir.search_param_job where id = $1"))
        {
            job.Parameters.AddWithValue(id);
            await using var reader = await job.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.Equal("ready", reader.GetString(0));
            Assert.True(reader.GetInt64(1) >= 1, "the patient stored before the parameter was indexed by the backfill");
        }

        // The second server searches with it and indexes its own writes with it.
        var third = await Create(otherClient, Patient(value));
        List<string> seen = [];
        for (var i = 0; i < 50 && seen.Count < 3; i++)
        {
            if (i > 0) await Task.Delay(100);
            var response = await otherClient.SendAsync(Strict($"/fhir/Patient?{code}={value}&_count=100"));
            if (response.StatusCode == HttpStatusCode.OK)
                seen = (await response.ReadJson())["entry"]?.AsArray().Select(e => e!["resource"]!["id"]!.GetValue<string>()).ToList() ?? [];
        }
        Assert.Equal(new[] { old, fresh, third }.Order(), seen.Order());
        var capability = await (await otherClient.GetAsync("/fhir/metadata")).ReadJson();
        var patient = capability["rest"]![0]!["resource"]!.AsArray().Single(r => r!["type"]!.GetValue<string>() == "Patient")!;
        Assert.Contains(patient["searchParam"]!.AsArray(), p => p!["name"]!.GetValue<string>() == code
            && p["definition"]!.GetValue<string>() == $"https://interop.example/fhir/SearchParameter/{id}" && p["type"]!.GetValue<string>() == "string");

        // Deleted: an unknown parameter again, on both servers, and its index rows are removed.
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/fhir/SearchParameter/{id}")).StatusCode);
        var gone = await client.SendAsync(Strict($"/fhir/Patient?{code}={value}"));
        Assert.Equal(HttpStatusCode.BadRequest, gone.StatusCode);
        Assert.Contains($"Unknown search parameter '{code}'", await gone.Content.ReadAsStringAsync());
        var otherStatus = HttpStatusCode.OK;
        for (var i = 0; i < 50 && otherStatus != HttpStatusCode.BadRequest; i++)
        {
            if (i > 0) await Task.Delay(100);
            otherStatus = (await otherClient.SendAsync(Strict($"/fhir/Patient?{code}={value}"))).StatusCode;
        }
        Assert.Equal(HttpStatusCode.BadRequest, otherStatus);
        long rows = -1;
        for (var i = 0; i < 100 && rows != 0; i++)
        {
            if (i > 0) await Task.Delay(100);
            await using var count = db.CreateCommand("select count(*) from fhir.ix_string where rtype = 'Patient' and param = $1");
            count.Parameters.AddWithValue(code);
            rows = (long)(await count.ExecuteScalarAsync())!;
        }
        Assert.Equal(0, rows);
        var metadata = await (await client.GetAsync("/fhir/metadata")).ReadJson();
        Assert.DoesNotContain(metadata["rest"]![0]!["resource"]!.AsArray().Single(r => r!["type"]!.GetValue<string>() == "Patient")!["searchParam"]!.AsArray(),
            p => p!["name"]!.GetValue<string>() == code);
    }

    [Fact]
    public async Task A_new_version_that_changes_the_type_moves_the_index_rows_to_the_new_type()
    {
        var client = server.CreateClient();
        var id = $"retyped-{Unique}";
        var value = $"Ty{Unique}";
        var expression = $"Patient.extension.where(url = '{ExtensionUrl}').value";
        var patient = await Create(client, Patient(value));
        Assert.Equal(HttpStatusCode.Created, (await client.PutAsync($"/fhir/SearchParameter/{id}", FhirTest.Body(Parameter(id, id, expression)))).StatusCode);
        Assert.Equal([patient], await SearchWhenIndexed(client, $"/fhir/Patient?{id}={value[..4]}")); // string: a prefix matches

        Assert.Equal(HttpStatusCode.OK, (await client.PutAsync($"/fhir/SearchParameter/{id}", FhirTest.Body(Parameter(id, id, expression, type: "token")))).StatusCode);
        Assert.Equal([patient], await SearchWhenIndexed(client, $"/fhir/Patient?{id}={value}"));
        Assert.Empty(await SearchWhenIndexed(client, $"/fhir/Patient?{id}={value[..4]}")); // token: the whole code only
        var db = server.Services.GetRequiredService<NpgsqlDataSource>();
        await using var count = db.CreateCommand("select (select count(*) from fhir.ix_string where param = $1), (select count(*) from fhir.ix_token where param = $1)");
        count.Parameters.AddWithValue(id);
        await using var reader = await count.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal((0L, 1L), (reader.GetInt64(0), reader.GetInt64(1)));
    }

    [Fact]
    public async Task A_search_with_an_uploaded_parameter_shows_an_institution_only_the_residents_it_cares_for()
    {
        var admin = server.CreateClient();
        var id = $"policy-{Unique}";
        var value = $"Po{Unique}";
        var hospital = (await (await admin.PostAsync("/fhir/Organization", FhirTest.Body("""{"resourceType":"Organization","name":"Hospital"}"""))).ReadJson())["id"]!.GetValue<string>();
        var cared = await Create(admin, Patient(value));
        var other = await Create(admin, Patient(value));
        var episode = $$$"""{"resourceType":"EpisodeOfCare","status":"active","patient":{"reference":"Patient/{{{cared}}}"},"managingOrganization":{"reference":"Organization/{{{hospital}}}"}}""";
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsync("/fhir/EpisodeOfCare", FhirTest.Body(episode))).StatusCode);
        var expression = $"Patient.extension.where(url = '{ExtensionUrl}').value";
        Assert.Equal(HttpStatusCode.Created, (await admin.PutAsync($"/fhir/SearchParameter/{id}", FhirTest.Body(Parameter(id, id, expression)))).StatusCode);

        Assert.Equal(new[] { cared, other }.Order(), (await SearchWhenIndexed(admin, $"/fhir/Patient?{id}={value}")).Order());
        var station = await server.ClientWith($"hosp-{Unique}", "system/*.cruds", $"Organization/{hospital}", "clinician");
        Assert.Equal([cared], await SearchWhenIndexed(station, $"/fhir/Patient?{id}={value}&_total=accurate"));
        var bundle = await (await station.SendAsync(Strict($"/fhir/Patient?{id}={value}&_total=accurate"))).ReadJson();
        Assert.Equal(1, bundle["total"]!.GetValue<int>());
        // A client without Patient scopes is refused the search whatever the parameter.
        var narrow = await server.ClientWith($"obs-{Unique}", "system/Observation.rs");
        Assert.Equal(HttpStatusCode.Forbidden, (await narrow.SendAsync(Strict($"/fhir/Patient?{id}={value}"))).StatusCode);
    }

    public static TheoryData<string, string, string> Refusals => new()
    {
        // what, the parameter, the element named
        { "an expression FHIRPath cannot compile", Parameter("bad-expr", "bad-expr", "Patient.extension.where(url = "), "SearchParameter.expression" },
        { "a type the index has no table for", Parameter("bad-type", "bad-type", "Patient.name", type: "composite"), "SearchParameter.type" },
        { "a code Patient already has", Parameter("bad-code", "name", "Patient.name.family"), "SearchParameter.code" },
        { "a code that is not a name", Parameter("bad-name", "_sneaky", "Patient.name.family"), "SearchParameter.code" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task A_parameter_the_index_cannot_use_is_refused_naming_the_element(string what, string parameter, string element)
    {
        var id = System.Text.Json.JsonDocument.Parse(parameter).RootElement.GetProperty("id").GetString()!;
        var response = await server.CreateClient().PutAsync($"/fhir/SearchParameter/{id}", FhirTest.Body(parameter));
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{what}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        Assert.Contains(await response.Issues(), i => i.Expression == element);
        Assert.Equal(HttpStatusCode.NotFound, (await server.CreateClient().GetAsync($"/fhir/SearchParameter/{id}")).StatusCode);
    }

    [Fact]
    public async Task Only_an_admin_creates_a_search_parameter()
    {
        var station = await server.ClientWith($"station-{Unique}", "system/*.cruds", null, "clinician");
        var id = $"station-param-{Unique}";
        var refused = await station.PutAsync($"/fhir/SearchParameter/{id}", FhirTest.Body(Parameter(id, id, "Patient.name.family")));
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("admin role", await refused.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Forbidden, (await station.PostAsync("/fhir/SearchParameter", FhirTest.Body(Parameter(id, id, "Patient.name.family")))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await server.CreateClient().GetAsync($"/fhir/SearchParameter/{id}")).StatusCode);
        var strict = await server.CreateClient().SendAsync(Strict($"/fhir/Patient?{id}=x"));
        Assert.Equal(HttpStatusCode.BadRequest, strict.StatusCode);
    }

    [Fact]
    public void A_parameter_still_being_indexed_is_refused_not_answered_in_part()
    {
        var sp = new SearchParameter
        {
            Id = "pending", Url = "https://interop.example/fhir/SearchParameter/pending", Code = "pending-code", Type = SearchParamType.Token,
            Expression = "Patient.gender", Base = [ResourceType.Patient],
        };
        var pending = SearchParams.With([(sp, false)]);
        var error = Assert.Throws<FhirException>(() => SearchQueryParser.Parse(["Patient"], [new("pending-code", "male")], true, 10, 10, pending));
        Assert.Equal(ErrorKind.Conflict, error.Kind);
        Assert.Contains("being indexed", error.Message);
        Assert.Contains("pending", error.Message);
        // _sort and _has with it are refused too; once ready it parses.
        Assert.Throws<FhirException>(() => SearchQueryParser.Parse(["Patient"], [new("_sort", "pending-code")], true, 10, 10, pending));
        var ready = SearchQueryParser.Parse(["Patient"], [new("pending-code", "male")], true, 10, 10, SearchParams.With([(sp, true)]));
        Assert.Single(ready.Criteria);
        // The fixed parameters alone do not know it.
        Assert.Null(SearchParams.Core.Find("Patient", "pending-code"));
    }

    private sealed class SecondServer(string connectionString) : Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(Microsoft.AspNetCore.Hosting.IWebHostBuilder builder)
        {
            builder.UseEnvironment("Testing");
            builder.UseSetting("ConnectionStrings:Interop", connectionString);
            builder.UseSetting("Auth:AdminSecret", FhirServerFixture.AdminSecret);
        }

        protected override void ConfigureClient(HttpClient client)
        {
            base.ConfigureClient(client);
            client.DefaultRequestHeaders.Authorization = new("Bearer", FhirServerFixture.Token(Server, "admin", FhirServerFixture.AdminSecret).GetAwaiter().GetResult());
        }
    }
}

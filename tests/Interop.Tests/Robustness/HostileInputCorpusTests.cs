using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Interop.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Interop.Tests.Robustness;

/// <summary>
/// Hostile input, generated per category (HostileCorpus): every case is a 4xx OperationOutcome (never a 5xx, a crash
/// or a poisoned connection), and after every case the server still creates, reads and searches. Long but valid
/// values are the exception: they are stored, read back and found.
/// </summary>
public sealed class HostileInputCorpusTests(FhirServerFixture server, ITestOutputHelper output) : IClassFixture<FhirServerFixture>
{
    public static TheoryData<string> ControlChars => HostileCorpus.Ids(HostileCorpus.ControlChars);
    public static TheoryData<string> Encodings => HostileCorpus.Ids(HostileCorpus.Encodings);
    public static TheoryData<string> Shapes => HostileCorpus.Ids(HostileCorpus.Shapes);
    public static TheoryData<string> Nesting => HostileCorpus.Ids(HostileCorpus.Nesting);
    public static TheoryData<string> Patches => HostileCorpus.Ids(HostileCorpus.Patches);
    public static TheoryData<string> Search => HostileCorpus.Ids(HostileCorpus.Search);
    public static TheoryData<string> Headers => HostileCorpus.Ids(HostileCorpus.Headers);
    public static TheoryData<string> Endpoints => HostileCorpus.Ids(HostileCorpus.Endpoints);
    public static TheoryData<string> LongValues => [.. HostileCorpus.LongValues.Select(c => c.Id)];

    [Theory, MemberData(nameof(ControlChars))]
    public Task Nul_and_control_characters_are_refused(string id) => Run(id);

    [Theory, MemberData(nameof(Encodings))]
    public Task Invalid_encodings_are_refused(string id) => Run(id);

    [Theory, MemberData(nameof(Shapes))]
    public Task Wrong_shapes_are_refused(string id) => Run(id);

    [Theory, MemberData(nameof(Nesting))]
    public Task Deep_nesting_is_refused(string id) => Run(id);

    [Theory, MemberData(nameof(Patches))]
    public Task Patch_garbage_is_refused(string id) => Run(id);

    [Theory, MemberData(nameof(Search))]
    public Task Search_garbage_is_refused(string id) => Run(id);

    [Theory, MemberData(nameof(Headers))]
    public Task Header_garbage_is_refused(string id) => Run(id);

    [Theory, MemberData(nameof(Endpoints))]
    public Task Wrong_endpoints_are_refused(string id) => Run(id);

    [Theory, MemberData(nameof(LongValues))]
    public async Task Long_values_are_stored_read_back_and_found(string id)
    {
        var value = HostileCorpus.LongValues.Single(c => c.Id == id).Make();
        var client = server.CreateClient();
        using var created = await client.PostAsync("/fhir/Patient", FhirTest.Body(value.Json));
        Assert.True(created.StatusCode == HttpStatusCode.Created, $"{id}: create answered {(int)created.StatusCode}: {await Snippet(created)}");
        var resourceId = (await created.ReadJson())["id"]!.GetValue<string>();

        using var read = await client.GetAsync($"/fhir/Patient/{resourceId}");
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.True(value.RoundTrips(await read.ReadJson()), $"{id}: the long value did not come back whole");

        using var found = await client.GetAsync("/fhir/Patient?" + $"family={Uri.EscapeDataString(value.Family[..Math.Min(300, value.Family.Length)])}");
        Assert.True(found.StatusCode == HttpStatusCode.OK, $"{id}: search answered {(int)found.StatusCode}: {await Snippet(found)}");
        Assert.Contains(resourceId, MatchIds(await found.ReadJson()));
        await AssertStillServes(client, id);
    }

    [Fact]
    public void Corpus_has_at_least_400_cases_and_every_category()
    {
        foreach (var category in HostileCorpus.Categories)
            output.WriteLine($"{category,-14} {HostileCorpus.All.Count(c => c.Category == category),4}");
        output.WriteLine($"{"LongValues",-14} {HostileCorpus.LongValues.Count,4}");
        output.WriteLine($"{"total",-14} {HostileCorpus.All.Count + HostileCorpus.LongValues.Count,4}");
        foreach (var expect in Enum.GetValues<Expect>())
            output.WriteLine($"  expecting {expect}: {HostileCorpus.All.Count(c => c.Expect == expect)}");

        var duplicates = HostileCorpus.All.GroupBy(c => c.Id).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(duplicates.Count == 0, "duplicate case ids: " + string.Join(", ", duplicates));
        Assert.All(HostileCorpus.Categories, category => Assert.Contains(HostileCorpus.All, c => c.Category == category));
        Assert.True(HostileCorpus.All.Count + HostileCorpus.LongValues.Count >= 400,
            $"the corpus shrank to {HostileCorpus.All.Count + HostileCorpus.LongValues.Count} cases");
    }

    // ---------------------------------------------------------------- running a case

    private async Task Run(string id)
    {
        var hostile = HostileCorpus.ById[id];
        var client = server.CreateClient();
        var subject = await Subject(server);
        using (var request = hostile.Build(subject))
        using (var response = await client.SendAsync(request))
            await Check(hostile, response);
        await AssertStillServes(client, id);
    }

    private static async Task Check(HostileCase hostile, HttpResponseMessage response)
    {
        var status = (int)response.StatusCode;
        var seen = $"{hostile.Id} answered {status}: {await Snippet(response)}";
        switch (hostile.Expect)
        {
            case Expect.ClientError:
                Assert.True(status is >= 400 and < 500, "expected a 4xx; " + seen);
                await AssertOutcome(response, seen);
                break;
            case Expect.NoServerError:
                Assert.True(status < 500, "expected no 5xx; " + seen);
                if (status >= 400) await AssertOutcome(response, seen);
                break;
            case Expect.EntryError when status != 200:
                Assert.True(status is >= 400 and < 500, "expected 200 with a failed entry, or a 4xx; " + seen);
                await AssertOutcome(response, seen);
                break;
            case Expect.EntryError:
                var bundle = await response.ReadJson();
                Assert.True(bundle["resourceType"]?.GetValue<string>() == "Bundle", "expected a response Bundle; " + seen);
                var statuses = (bundle["entry"]?.AsArray() ?? new JsonArray())
                    .Select(e => e?["response"]?["status"]?.GetValue<string>() ?? "").ToList();
                Assert.True(statuses.Count > hostile.BadEntry, $"expected {hostile.BadEntry + 1}+ entries; " + seen);
                for (var i = 0; i < statuses.Count; i++)
                    Assert.True(statuses[i].StartsWith(i == hostile.BadEntry ? '4' : '2'),
                        $"entry {i} answered '{statuses[i]}', expected {(i == hostile.BadEntry ? "4xx" : "2xx")}; " + seen);
                break;
        }
    }

    /// <summary>application/fhir+json, an OperationOutcome, at least one issue that says something.</summary>
    private static async Task AssertOutcome(HttpResponseMessage response, string seen)
    {
        Assert.True(response.Content.Headers.ContentType?.ToString().StartsWith("application/fhir+json", StringComparison.Ordinal) == true,
            $"expected Content-Type application/fhir+json, got '{response.Content.Headers.ContentType}'; " + seen);
        List<(string Code, string Diagnostics, string? Expression)> issues;
        try
        {
            issues = await response.Issues();
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            throw new Xunit.Sdk.XunitException($"expected an OperationOutcome ({e.GetType().Name}: {e.Message}); " + seen);
        }
        Assert.True(issues.Count > 0, "expected at least one issue; " + seen);
        Assert.True(issues.Any(i => !string.IsNullOrWhiteSpace(i.Diagnostics)), "expected an issue with diagnostics; " + seen);
    }

    /// <summary>The server still serves: create, read and search a Patient.</summary>
    private static async Task AssertStillServes(HttpClient client, string after)
    {
        using var created = await client.PostAsync("/fhir/Patient",
            FhirTest.Body("""{"resourceType":"Patient","active":true,"name":[{"family":"Alive","given":["Still"]}]}"""));
        Assert.True(created.StatusCode == HttpStatusCode.Created, $"after {after}: create answered {(int)created.StatusCode}: {await Snippet(created)}");
        var id = (await created.ReadJson())["id"]!.GetValue<string>();

        using var read = await client.GetAsync($"/fhir/Patient/{id}");
        Assert.True(read.StatusCode == HttpStatusCode.OK, $"after {after}: read answered {(int)read.StatusCode}: {await Snippet(read)}");

        using var search = await client.GetAsync($"/fhir/Patient?_id={id}");
        Assert.True(search.StatusCode == HttpStatusCode.OK, $"after {after}: search answered {(int)search.StatusCode}: {await Snippet(search)}");
        var matches = MatchIds(await search.ReadJson());
        Assert.True(matches.Count == 1 && matches[0] == id, $"after {after}: search by _id found [{string.Join(", ", matches)}], expected [{id}]");
    }

    private static List<string> MatchIds(JsonObject bundle) =>
        (bundle["entry"]?.AsArray() ?? new JsonArray())
        .Where(e => e?["search"]?["mode"]?.GetValue<string>() == "match")
        .Select(e => e?["resource"]?["id"]?.GetValue<string>() ?? "")
        .ToList();

    private static async Task<string> Snippet(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        if (body.Length > 400) body = body[..400] + "…";
        return new string(body.Select(c => char.IsControl(c) ? '·' : c).ToArray());
    }

    // ---------------------------------------------------------------- the subject: one existing Patient per server

    private static readonly ConditionalWeakTable<FhirServerFixture, Lazy<Task<string>>> Subjects = new();

    private static Task<string> Subject(FhirServerFixture server) =>
        Subjects.GetValue(server, s => new Lazy<Task<string>>(() => CreateSubject(s.CreateClient()))).Value;

    private static async Task<string> CreateSubject(HttpClient client)
    {
        using var response = await client.PostAsync("/fhir/Patient", FhirTest.Body(HostileCorpus.SubjectJson));
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"the subject Patient could not be created: {(int)response.StatusCode} {await Snippet(response)}");
        return (await response.ReadJson())["id"]!.GetValue<string>();
    }
}

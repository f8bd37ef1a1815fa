using System.Net;
using System.Text.Json.Nodes;
using Hl7.Fhir.Model;
using Interop.Fhir.Import;
using Interop.Fhir.Pipeline;
using Interop.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static Interop.Tests.Pipeline.PipelineFixture;

namespace Interop.Tests.Pipeline;

/// <summary>
/// Every caller goes through the one pipeline: REST interactions, every bundle entry, the operations and the importer
/// are seen by the behaviours, in the fixed stage order, with their context; a refusal there stops them all.
/// </summary>
public sealed class PipelineTests(PipelineFixture server) : IClassFixture<PipelineFixture>
{
    private static readonly Stage[] Order = [Stage.Authorise, Stage.Validate, Stage.Audit, Stage.Publish];

    // A client of its own per test (its token names it), so each test finds its own calls.
    private async Task<(HttpClient Client, string Name)> Client()
    {
        var name = "c" + Guid.NewGuid().ToString("N")[..12];
        return (await server.ClientWith(name, "system/*.cruds"), name);
    }

    private static Consent NewConsent() => new()
    {
        Status = Consent.ConsentState.Active,
        Scope = new CodeableConcept("http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy"),
        Category = [new CodeableConcept("http://loinc.org", "59284-0")],
    };

    private static string Json(Resource r) => FhirTest.Body(r).ReadAsStringAsync().Result;

    [Fact]
    public async Task Every_REST_interaction_passes_every_stage_in_order_with_its_context()
    {
        var (client, name) = await Client();
        var id = await client.CreateId(new Patient { Active = true });
        await client.GetAsync($"/fhir/Patient/{id}");
        await client.GetAsync($"/fhir/Patient/{id}/_history/1");
        await client.PutAsync($"/fhir/Patient/{id}", FhirTest.Body(new Patient { Id = id, Active = false }));
        await client.SendAsync(new HttpRequestMessage(HttpMethod.Patch, $"/fhir/Patient/{id}")
        {
            Content = new StringContent("""[{"op":"replace","path":"/active","value":true}]""", System.Text.Encoding.UTF8, "application/json-patch+json"),
        });
        await client.GetAsync($"/fhir/Patient?_id={id}");
        await client.GetAsync($"/fhir/Patient/{id}/_history");
        await client.SendAsync(FhirTest.Request(HttpMethod.Post, "/fhir/Patient", Json(new Patient { Active = true }), ("If-None-Exist", $"_id={id}")));
        await client.DeleteAsync($"/fhir/Patient/{id}");

        var seen = server.Calls.Of(name);
        Interaction[] expected = [Interaction.Create, Interaction.Read, Interaction.VRead, Interaction.Update, Interaction.Patch,
            Interaction.Search, Interaction.History, Interaction.ConditionalCreate, Interaction.Delete];
        Assert.Equal(expected, seen.Where(s => s.Stage == Stage.Authorise).Select(s => s.Interaction));
        foreach (var calls in seen.GroupBy(s => s.CorrelationId))
        {
            Assert.Equal(Order, calls.Select(c => c.Stage)); // authorise → validate → (handler) → audit → publish
            Assert.All(calls, c => Assert.Equal("Patient", c.Type));
        }
        Assert.Equal(expected.Length, seen.Select(s => s.CorrelationId).Distinct().Count());
        string[] outcomes = ["Created", "Ok", "Ok", "Updated", "Updated", "Ok", "Ok", "MatchedExisting", "Deleted"];
        Assert.Equal(outcomes, seen.Where(s => s.Stage == Stage.Audit).Select(s => s.Outcome));
    }

    [Fact]
    public async Task Failures_reach_the_audit_stage_with_their_kind()
    {
        var (client, name) = await Client();
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/fhir/Patient/{Guid.NewGuid()}")).StatusCode);
        var audit = Assert.Single(server.Calls.Of(name), s => s.Stage == Stage.Audit);
        Assert.Equal("NotFound", audit.Outcome);
    }

    [Fact]
    public async Task Each_bundle_entry_passes_the_pipeline_as_its_own_interaction()
    {
        var (client, name) = await Client();
        var existing = await client.CreateId(new Patient { Active = true });
        var bundle = new Bundle { Type = Bundle.BundleType.Transaction };
        bundle.Entry.Add(new Bundle.EntryComponent { FullUrl = "urn:uuid:" + Guid.NewGuid(), Resource = new Patient { Active = true }, Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "Patient" } });
        bundle.Entry.Add(new Bundle.EntryComponent { Resource = new Patient { Id = existing, Active = true }, Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.PUT, Url = $"Patient/{existing}" } });
        bundle.Entry.Add(new Bundle.EntryComponent { Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.GET, Url = $"Patient/{existing}" } });
        bundle.Entry.Add(new Bundle.EntryComponent { Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.GET, Url = $"Patient?_id={existing}" } });
        var response = await client.PostAsync("/fhir", FhirTest.Body(bundle));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var entries = server.Calls.Of(name).Where(s => s.Parent == Interaction.Transaction).ToList();
        Assert.Equal([Interaction.Create, Interaction.Update, Interaction.Read, Interaction.Search],
            entries.Where(s => s.Stage == Stage.Authorise).Select(s => s.Interaction));
        Assert.Equal([Interaction.Create, Interaction.Update, Interaction.Read, Interaction.Search],
            entries.Where(s => s.Stage == Stage.Publish).Select(s => s.Interaction));
        Assert.Equal(["Created", "Updated", "Ok", "Ok"], entries.Where(s => s.Stage == Stage.Audit).Select(s => s.Outcome));
        Assert.Single(server.Calls.Of(name), s => s.Stage == Stage.Audit && s.Interaction == Interaction.Transaction);
    }

    [Fact]
    public async Task A_refusal_stops_reads_writes_searches_and_every_bundle_path()
    {
        var (client, _) = await Client();
        var consent = Json(NewConsent());
        var refused = new[]
        {
            await client.PostAsync("/fhir/Consent", FhirTest.Body(consent)),
            await client.GetAsync("/fhir/Consent/x"),
            await client.GetAsync("/fhir/Consent?status=active"),
            await client.GetAsync("/fhir?_type=Consent"),
            await client.GetAsync("/fhir/Consent/_history"),
            await client.DeleteAsync("/fhir/Consent?status=active"),
        };
        foreach (var r in refused)
        {
            Assert.True(r.StatusCode == HttpStatusCode.Forbidden, $"{r.RequestMessage!.RequestUri}: {r.StatusCode} {await r.Content.ReadAsStringAsync()}");
            Assert.Equal("forbidden", (await r.Issues())[0].Code);
        }

        // A transaction with one refused entry stores nothing.
        var marker = Guid.NewGuid().ToString("N");
        var transaction = new Bundle { Type = Bundle.BundleType.Transaction };
        transaction.Entry.Add(new Bundle.EntryComponent { Resource = new Patient { Identifier = [new Identifier("urn:t", marker)] }, Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "Patient" } });
        transaction.Entry.Add(new Bundle.EntryComponent { Resource = NewConsent(), Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "Consent" } });
        var failed = await client.PostAsync("/fhir", FhirTest.Body(transaction));
        Assert.Equal(HttpStatusCode.Forbidden, failed.StatusCode);
        Assert.Equal("Bundle.entry[1]", (await failed.Issues())[0].Expression);
        var search = await (await client.GetAsync($"/fhir/Patient?identifier=urn:t|{marker}")).ReadJson();
        Assert.Empty(search["entry"]?.AsArray() ?? []);

        // In a batch the refused entries fail alone, reads included.
        var batch = new Bundle { Type = Bundle.BundleType.Batch };
        batch.Entry.Add(new Bundle.EntryComponent { Resource = new Patient { Active = true }, Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "Patient" } });
        batch.Entry.Add(new Bundle.EntryComponent { Resource = NewConsent(), Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "Consent" } });
        batch.Entry.Add(new Bundle.EntryComponent { Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.GET, Url = "Consent?status=active" } });
        var answer = await (await client.PostAsync("/fhir", FhirTest.Body(batch))).ReadJson();
        Assert.Equal(["201 Created", "403 Forbidden", "403 Forbidden"], answer["entry"]!.AsArray().Select(e => e!["response"]!["status"]!.GetValue<string>()));
    }

    [Fact]
    public async Task The_importer_goes_through_the_pipeline()
    {
        var dir = Directory.CreateTempSubdirectory("interop-import");
        try
        {
            var marker = Guid.NewGuid().ToString("N");
            File.WriteAllLines(Path.Combine(dir.FullName, "a.ndjson"), [Json(new Patient { Identifier = [new Identifier("urn:t", marker)] })]);
            File.WriteAllLines(Path.Combine(dir.FullName, "b.ndjson"), [Json(NewConsent())]);
            var importer = new BulkImporter(server.Services.GetRequiredService<FhirPipeline>(), "");
            var report = await importer.Run([dir.FullName], new ImportOptions(Parallelism: 1), _ => { }, CancellationToken.None);
            Assert.Equal(1, report.Resources);
            Assert.Contains("Forbidden", Assert.Single(report.Failures).Message + report.Resources);
            var seen = server.Calls.Of("import").Where(s => s.Stage == Stage.Authorise && s.Parent == Interaction.Transaction).ToList();
            Assert.Contains(seen, s => s.Type == "Patient" && s.Interaction == Interaction.Create);
            Assert.Contains(seen, s => s.Type == "Consent");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Operations_pass_the_pipeline_with_their_names()
    {
        var (client, name) = await Client();
        var a = await client.CreateId(new Patient { Name = [new HumanName { Family = "Op" }] });
        var b = await client.CreateId(new Patient { Name = [new HumanName { Family = "Op" }] });
        await client.GetAsync($"/fhir/Patient/{a}/$everything");
        var merge = new Parameters();
        merge.Add("source-patient", new ResourceReference($"Patient/{a}"));
        merge.Add("target-patient", new ResourceReference($"Patient/{b}"));
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/fhir/Patient/$merge", FhirTest.Body(merge))).StatusCode);
        var match = new Parameters();
        match.Add("resource", new Patient { Name = [new HumanName { Family = "Op" }] });
        await client.PostAsync("/fhir/Patient/$match", FhirTest.Body(match));
        var operations = server.Calls.Of(name).Where(s => s.Stage == Stage.Authorise && s.Interaction == Interaction.Operation).Select(s => s.Operation);
        Assert.Equal(["everything", "merge", "match"], operations);
    }

    [Fact]
    public async Task A_behaviour_can_add_a_criterion_to_a_search_before_it_becomes_sql()
    {
        var (client, _) = await Client();
        var marker = Guid.NewGuid().ToString("N");
        Basic Basic(string system) => new() { Code = new CodeableConcept("urn:t", marker), Identifier = [new Identifier(system, marker)] };
        var allowed = await client.CreateId(Basic(AllowedSystem));
        await client.CreateId(Basic("urn:test:other"));
        var bundle = await (await client.GetAsync($"/fhir/Basic?code=urn:t|{marker}")).ReadJson();
        var ids = bundle["entry"]!.AsArray().Select(e => e!["resource"]!["id"]!.GetValue<string>());
        Assert.Equal([allowed], ids);
    }

    [Fact]
    public async Task The_change_feed_passes_the_pipeline_and_a_refusal_stops_it()
    {
        var (client, name) = await Client();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/fhir/$changes?after=0")).StatusCode);
        Assert.Contains(server.Calls.Of(name), s => s.Stage == Stage.Audit && s.Operation == "changes" && s.Outcome == "Ok");
        var restricted = await server.ClientWith("restricted-" + name, "system/*.cruds");
        var refused = await restricted.GetAsync("/fhir/$changes?after=0");
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.DoesNotContain("entry", await refused.Content.ReadAsStringAsync());
    }

    [Fact]
    public void Every_request_type_has_exactly_one_handler()
    {
        var requests = typeof(FhirRequest).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(FhirRequest)) && !t.IsAbstract && t != typeof(EntryCall));
        var handled = server.Services.GetRequiredService<FhirPipeline>().Handled;
        Assert.Equal(requests.OrderBy(t => t.Name), handled.OrderBy(t => t.Name));
    }
}

using System.Net;
using System.Text.Json.Nodes;
using Hl7.Fhir.Model;
using Hl7.Fhir.Rest;
using Interop.Tests.Infrastructure;

namespace Interop.Tests.Rest;

public sealed class SystemEndpointTests(FhirServerFixture server) : IClassFixture<FhirServerFixture>
{
    [Fact]
    public async Task Capability_statement_lists_types_and_interactions()
    {
        var statement = await (await server.CreateClient().GetAsync("/fhir/metadata")).ReadResource<CapabilityStatement>();
        Assert.Equal(FHIRVersion.N4_0_1, statement.FhirVersion);
        var resources = statement.Rest[0].Resource;
        Assert.True(resources.Count > 140);
        var patient = resources.Single(r => r.Type == "Patient");
        var interactions = patient.Interaction.Select(i => i.Code).ToList();
        Assert.Contains(CapabilityStatement.TypeRestfulInteraction.Vread, interactions);
        Assert.Contains(CapabilityStatement.TypeRestfulInteraction.HistoryType, interactions);
        Assert.DoesNotContain(resources, r => r.Type is "Resource" or "DomainResource");
    }

    [Fact]
    public async Task Swagger_describes_the_fhir_endpoints()
    {
        var client = server.CreateClient();
        var doc = JsonNode.Parse(await client.GetStringAsync("/swagger/v1/swagger.json"))!;
        var paths = doc["paths"]!.AsObject().Select(p => p.Key).ToList();
        Assert.Contains("/fhir/{type}/{id}", paths);
        Assert.Contains("/fhir/{type}/{id}/_history/{vid}", paths);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/swagger/index.html")).StatusCode);
    }

    [Fact]
    public async Task Health_endpoints_answer()
    {
        var client = server.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        var ready = await client.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Contains("\"status\":\"Healthy\"", await ready.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Firely_FhirClient_works_as_a_real_client()
    {
        var http = server.CreateClient();
        var client = new FhirClient(new Uri(http.BaseAddress!, "/fhir"), http, new FhirClientSettings { PreferredFormat = ResourceFormat.Json });
        var created = await client.CreateAsync(new EpisodeOfCare
        {
            Status = EpisodeOfCare.EpisodeOfCareStatus.Active,
            Patient = new ResourceReference("Patient/p1"),
            Type = [new CodeableConcept("urn:interop:episode", "family-doctor-contract")],
        });
        Assert.Equal("1", created!.Meta.VersionId);
        var read = await client.ReadAsync<EpisodeOfCare>($"EpisodeOfCare/{created.Id}");
        read!.Status = EpisodeOfCare.EpisodeOfCareStatus.Finished;
        var updated = await client.UpdateAsync(read, versionAware: true);
        Assert.Equal("2", updated!.Meta.VersionId);
        var history = await client.HistoryAsync($"EpisodeOfCare/{created.Id}");
        Assert.Equal(2, history!.Entry.Count);
        await client.DeleteAsync(updated);
        await Assert.ThrowsAsync<FhirOperationException>(() => client.ReadAsync<EpisodeOfCare>($"EpisodeOfCare/{created.Id}"));
    }
}

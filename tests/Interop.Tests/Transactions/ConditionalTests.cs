using System.Net;
using Hl7.Fhir.Model;
using Interop.Tests.Infrastructure;

namespace Interop.Tests.Transactions;

/// <summary>Conditional create, update and delete over REST, including races between identical requests.</summary>
public sealed class ConditionalTests(FhirServerFixture server) : IClassFixture<FhirServerFixture>
{
    private static Patient Resident(string system, string value, string tag) => new()
    {
        Identifier = [new Identifier(system, value)],
        Meta = new Meta { Tag = [new Coding("urn:test", tag)] },
    };

    [Fact]
    public async Task Concurrent_identical_conditional_creates_make_exactly_one_resource()
    {
        var data = new TestData(server.CreateClient());
        var system = $"urn:resident:{data.Tag}";
        var clients = Enumerable.Range(0, 8).Select(_ => server.CreateClient()).ToList();
        var requests = clients.Select(c => c.SendAsync(FhirTest.Request(HttpMethod.Post, "/fhir/Patient", Resident(system, "R-7", data.Tag).ToJson(),
            ("If-None-Exist", $"identifier={system}|R-7"))));
        var statuses = (await System.Threading.Tasks.Task.WhenAll(requests)).Select(r => r.StatusCode).ToList();
        Assert.Single(statuses, HttpStatusCode.Created);
        Assert.Equal(7, statuses.Count(s => s == HttpStatusCode.OK));
        Assert.Single(await data.Ids("/fhir/Patient"));
    }

    [Fact]
    public async Task Conditional_create_with_several_matches_is_412()
    {
        var data = new TestData(server.CreateClient());
        var system = $"urn:resident:{data.Tag}";
        await data.Create(Resident(system, "dup", data.Tag));
        await data.Create(Resident(system, "dup", data.Tag));
        var response = await data.Client.SendAsync(FhirTest.Request(HttpMethod.Post, "/fhir/Patient", Resident(system, "dup", data.Tag).ToJson(), ("If-None-Exist", $"identifier={system}|dup")));
        Assert.Equal(HttpStatusCode.PreconditionFailed, response.StatusCode);
    }

    [Fact]
    public async Task Conditional_update_creates_then_updates_and_refuses_ambiguity()
    {
        var data = new TestData(server.CreateClient());
        var system = $"urn:resident:{data.Tag}";
        var url = $"/fhir/Patient?identifier={Uri.EscapeDataString(system + "|U-1")}";
        var created = await data.Client.PutAsync(url, FhirTest.Body(Resident(system, "U-1", data.Tag)));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var patient = Resident(system, "U-1", data.Tag);
        patient.Active = true;
        var updated = await data.Client.PutAsync(url, FhirTest.Body(patient));
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        Assert.Equal("W/\"2\"", updated.Headers.ETag?.ToString());
        Assert.Single(await data.Ids("/fhir/Patient"));

        await data.Create(Resident(system, "U-2", data.Tag));
        await data.Create(Resident(system, "U-2", data.Tag));
        var ambiguous = await data.Client.PutAsync($"/fhir/Patient?identifier={Uri.EscapeDataString(system + "|U-2")}", FhirTest.Body(Resident(system, "U-2", data.Tag)));
        Assert.Equal(HttpStatusCode.PreconditionFailed, ambiguous.StatusCode);
    }

    [Fact]
    public async Task Conditional_delete_single_and_refuses_several()
    {
        var data = new TestData(server.CreateClient());
        var system = $"urn:resident:{data.Tag}";
        var one = await data.Create(Resident(system, "D-1", data.Tag));
        var deleted = await data.Client.DeleteAsync($"/fhir/Patient?identifier={Uri.EscapeDataString(system + "|D-1")}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.Gone, (await data.Client.GetAsync($"/fhir/Patient/{one}")).StatusCode);

        await data.Create(Resident(system, "D-2", data.Tag));
        await data.Create(Resident(system, "D-2", data.Tag));
        var several = await data.Client.DeleteAsync($"/fhir/Patient?identifier={Uri.EscapeDataString(system + "|D-2")}");
        Assert.Equal(HttpStatusCode.PreconditionFailed, several.StatusCode);
        Assert.Equal(2, (await data.Ids("/fhir/Patient")).Count);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await data.Client.DeleteAsync("/fhir/Patient")).StatusCode);
    }
}

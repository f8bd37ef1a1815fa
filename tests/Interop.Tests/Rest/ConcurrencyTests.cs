using System.Net;
using Hl7.Fhir.Model;
using Interop.Tests.Infrastructure;

namespace Interop.Tests.Rest;

public sealed class ConcurrencyTests(FhirServerFixture server) : IClassFixture<FhirServerFixture>
{
    [Fact]
    public async Task Concurrent_if_match_updates_exactly_one_wins()
    {
        var client = server.CreateClient();
        var id = await client.CreateId(new Patient { Active = true });
        var attempts = Enumerable.Range(0, 12).Select(i => client.SendAsync(FhirTest.Request(HttpMethod.Put, $"/fhir/Patient/{id}",
            new Patient { Id = id, BirthDate = $"19{10 + i}" }.ToJson(), ("If-Match", "W/\"1\""))));
        var statuses = (await System.Threading.Tasks.Task.WhenAll(attempts)).Select(r => r.StatusCode).ToList();
        Assert.Single(statuses, HttpStatusCode.OK);
        Assert.All(statuses.Where(s => s != HttpStatusCode.OK), s => Assert.Equal(HttpStatusCode.PreconditionFailed, s));
        Assert.Equal("W/\"2\"", (await client.GetAsync($"/fhir/Patient/{id}")).Headers.ETag?.ToString());
    }

    [Fact]
    public async Task Concurrent_plain_updates_all_land_as_consecutive_versions()
    {
        var client = server.CreateClient();
        var id = await client.CreateId(new Patient { Active = true });
        var updates = Enumerable.Range(0, 10).Select(i => client.PutAsync($"/fhir/Patient/{id}", FhirTest.Body(new Patient { Id = id, BirthDate = $"19{10 + i}" })));
        var responses = await System.Threading.Tasks.Task.WhenAll(updates);
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var versions = responses.Select(r => r.Headers.ETag!.Tag).Order().ToList();
        Assert.Equal(10, versions.Distinct().Count());
        var history = await (await client.GetAsync($"/fhir/Patient/{id}/_history")).ReadJson();
        Assert.Equal(11, history["total"]!.GetValue<int>());
    }
}

using System.Net;
using Hl7.Fhir.Model;
using Interop.Tests.Infrastructure;

namespace Interop.Tests.Rest;

public sealed class HistoryTests(FhirServerFixture server) : IClassFixture<FhirServerFixture>
{
    [Fact]
    public async Task Type_history_pages_neither_skip_nor_repeat_while_writes_go_on()
    {
        var client = server.CreateClient();
        var ids = new List<string>();
        for (var i = 0; i < 7; i++) ids.Add(await client.CreateId(new Organization { Name = $"Station {i}" }));

        var seen = new List<string>();
        var url = "/fhir/Organization/_history?_count=3";
        var pages = 0;
        while (url is not null)
        {
            var page = await (await client.GetAsync(url)).ReadJson();
            seen.AddRange(page["entry"]?.AsArray().Select(e => e!["resource"]!["id"]!.GetValue<string>()) ?? []);
            if (pages++ == 0) await client.CreateId(new Organization { Name = "Written after the first page" });
            url = page["link"]!.AsArray().FirstOrDefault(l => l!["relation"]!.GetValue<string>() == "next")?["url"]!.GetValue<string>();
            Assert.True(pages < 10);
        }
        Assert.Equal(3, pages);
        Assert.Equal(ids.AsEnumerable().Reverse(), seen);
    }

    [Fact]
    public async Task Previous_link_goes_back_and_since_filters()
    {
        var client = server.CreateClient();
        for (var i = 0; i < 4; i++) await client.CreateId(new Practitioner { Active = true });
        var first = await (await client.GetAsync("/fhir/Practitioner/_history?_count=2")).ReadJson();
        var next = first["link"]!.AsArray().Single(l => l!["relation"]!.GetValue<string>() == "next")!["url"]!.GetValue<string>();
        var second = await (await client.GetAsync(next)).ReadJson();
        var previous = second["link"]!.AsArray().Single(l => l!["relation"]!.GetValue<string>() == "previous")!["url"]!.GetValue<string>();
        var back = await (await client.GetAsync(previous)).ReadJson();
        Assert.Equal(first["entry"]!.ToJsonString(), back["entry"]!.ToJsonString());

        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync("/fhir/Practitioner/_history?_cursor=garbage")).StatusCode);
        Assert.Null(back["link"]!.AsArray().FirstOrDefault(l => l!["relation"]!.GetValue<string>() == "previous"));

        var future = DateTimeOffset.UtcNow.AddMinutes(5).ToString("O");
        var none = await (await client.GetAsync($"/fhir/Practitioner/_history?_since={Uri.EscapeDataString(future)}")).ReadJson();
        Assert.Null(none["entry"]);
    }

    [Fact]
    public async Task System_history_includes_all_types()
    {
        var client = server.CreateClient();
        var p = await client.CreateId(new Patient { Active = true });
        var c = await client.CreateId(new CareTeam { Name = "Team" });
        var page = await (await client.GetAsync("/fhir/_history?_count=1000")).ReadJson();
        var urls = page["entry"]!.AsArray().Select(e => e!["fullUrl"]!.GetValue<string>()).ToList();
        Assert.Contains($"http://localhost/fhir/Patient/{p}", urls);
        Assert.Contains($"http://localhost/fhir/CareTeam/{c}", urls);
    }

    [Fact]
    public async Task Instance_history_of_unknown_resource_is_404()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await server.CreateClient().GetAsync("/fhir/Patient/nobody/_history")).StatusCode);
    }
}

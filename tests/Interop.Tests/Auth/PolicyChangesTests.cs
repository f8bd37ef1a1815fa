using System.Net;
using System.Text.Json.Nodes;
using Hl7.Fhir.Model;
using Interop.Tests.Infrastructure;
using Npgsql;

namespace Interop.Tests.Auth;

/// <summary>
/// $changes for an institution: the change feed filtered by the access policy in its SQL — its residents' changes
/// (deletions included), none of another's or of data a consent closes to it, in the feed's order and pages, with a
/// position that is sealed so the rest of the group's activity does not show through it. The admin's feed is the
/// whole feed as before; scopes still apply.
/// </summary>
public sealed class PolicyChangesTests(PolicyChangesTests.Fixture server) : IClassFixture<PolicyChangesTests.Fixture>
{
    public sealed class Fixture : FhirServerFixture
    {
        protected override IDictionary<string, string> Settings => new Dictionary<string, string> { ["Fhir:ChangeSettleSeconds"] = "3" };
    }

    private sealed record World(HttpClient Admin, string Station, string Other, long Start, List<string> Visible, List<string> Hidden, string Updated, string TheirDelete, string LastDelete);

    private static ResourceReference Ref(string type, string id) => new($"{type}/{id}");

    // Mine (the station cares for her), Theirs (another station's), Private (the station's, whose consent closes her
    // Observations to it); an observation of each, one of Mine's updated, one of Mine's and one of Theirs deleted.
    private async Task<World> Build()
    {
        var admin = server.CreateClient();
        var start = await Position();
        var data = new TestData(admin);
        var tag = data.Tag[..8];
        var station = await data.Create(new Organization { Name = "Station " + tag });
        var other = await data.Create(new Organization { Name = "Other " + tag });
        List<string> visible = [], hidden = [];
        async Task<string> Add(Resource resource, List<string> into)
        {
            var id = await data.Create(resource);
            into.Add($"{resource.TypeName}/{id}");
            return id;
        }
        async Task<string> Resident(string org, List<string> into)
        {
            var id = await Add(new Patient { Name = [new HumanName { Family = "Resident " + tag }] }, into);
            await Add(new EpisodeOfCare { Status = EpisodeOfCare.EpisodeOfCareStatus.Active, Patient = Ref("Patient", id), ManagingOrganization = Ref("Organization", org) }, into);
            return id;
        }
        Observation Obs(string patient) => new() { Status = ObservationStatus.Final, Code = new CodeableConcept("urn:test:code", tag), Subject = Ref("Patient", patient) };
        var mine = await Resident(station, visible);
        var theirs = await Resident(other, hidden);
        var secret = await Resident(station, visible);
        await Add(DenyingConsent.For(secret, station, "Observation"), visible);
        var updated = await Add(Obs(mine), visible);
        await Add(Obs(secret), hidden);
        await Add(Obs(theirs), hidden);
        var goneTheirs = await Add(Obs(theirs), hidden);
        var goneMine = await Add(Obs(mine), visible);
        var again = Obs(mine);
        again.Id = updated;
        again.Status = ObservationStatus.Amended;
        await data.Put(again);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/fhir/Observation/{goneTheirs}")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/fhir/Observation/{goneMine}")).StatusCode);
        return new World(admin, station, other, start, visible, hidden, $"Observation/{updated}", $"Observation/{goneTheirs}", $"Observation/{goneMine}");
    }

    private async Task<long> Position()
    {
        await using var db = new NpgsqlConnection(server.ConnectionString);
        await db.OpenAsync();
        await using var cmd = new NpgsqlCommand("select coalesce(max(seq_id), 0) from fhir.mt_events", db);
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    private sealed record Read(List<(string Method, string Key)> Changes, List<string> NextLinks, List<int> PageSizes);

    /// <summary>Follows the feed from <paramref name="after"/> by its next links, two at a time, until the deletion <paramref name="last"/> came.</summary>
    private static async Task<Read> ReadUntil(HttpClient client, long after, string last, params (string, string)[] headers)
    {
        var read = new Read([], [], []);
        var url = $"/fhir/$changes?after={after}&_count=2";
        for (var clock = System.Diagnostics.Stopwatch.StartNew(); clock.Elapsed < TimeSpan.FromSeconds(60);)
        {
            var response = await client.SendAsync(FhirTest.Request(HttpMethod.Get, url, null, headers));
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            var page = await response.ReadJson();
            var entries = page["entry"]?.AsArray().Select(e => e!).ToList() ?? [];
            read.PageSizes.Add(entries.Count);
            foreach (var e in entries)
            {
                var method = e["request"]!["method"]!.GetValue<string>();
                var key = method == "POST" ? e["fullUrl"]!.GetValue<string>().Split("/fhir/")[1] : e["request"]!["url"]!.GetValue<string>();
                read.Changes.Add((method, key));
            }
            var next = page["link"]!.AsArray().Single(l => l!["relation"]!.GetValue<string>() == "next")!["url"]!.GetValue<string>();
            read.NextLinks.Add(next);
            url = "/fhir/" + next.Split("/fhir/")[1];
            if (read.Changes.Contains(("DELETE", last))) return read;
            if (entries.Count == 0) await Task.Delay(200);
        }
        throw new TimeoutException($"the change feed did not deliver {last} within 60 s");
    }

    [Fact]
    public async Task A_stations_feed_holds_its_residents_changes_and_none_of_another_stations_in_the_feeds_order()
    {
        var w = await Build();
        var station = await server.ClientWith("feed-station-" + w.Station[..8], "system/*.rs", $"Organization/{w.Station}", "clinician");
        var admin = await ReadUntil(w.Admin, w.Start, w.LastDelete);
        var mine = await ReadUntil(station, w.Start, w.LastDelete);
        var all = w.Visible.Concat(w.Hidden).ToHashSet();
        // The admin's feed is the whole feed: every change, hidden ones too, positions as numbers.
        var adminOwn = admin.Changes.Where(c => all.Contains(c.Key)).ToList();
        Assert.True(w.Hidden.All(k => adminOwn.Any(c => c.Key == k)), "the admin's feed lacks a change");
        Assert.All(admin.NextLinks, l => Assert.Matches(@"\$changes\?after=\d+&_count=2$", l));
        // The station's: exactly the admin's changes to what it may see, in the same order (the update and the
        // deletion of its resident's observations included), nothing of the other station's resident or of the
        // observations the consent closes to it, in pages of at most _count.
        var expected = adminOwn.Where(c => w.Visible.Contains(c.Key)).ToList();
        Assert.Equal(expected, mine.Changes.Where(c => all.Contains(c.Key)).ToList());
        Assert.Contains(("PUT", w.Updated), mine.Changes);
        Assert.Contains(("DELETE", w.LastDelete), mine.Changes);
        Assert.DoesNotContain(mine.Changes, c => w.Hidden.Contains(c.Key));
        Assert.Equal(w.Visible.Count + 2, expected.Count); // every visible resource's creation, the update and the deletion
        Assert.All(mine.PageSizes, n => Assert.InRange(n, 0, 2));
        // Its position is sealed: no sequence number (which would count the group's other changes) in its links.
        Assert.All(mine.NextLinks, l => Assert.DoesNotContain("after=", l));
        Assert.All(mine.NextLinks, l => Assert.Matches(@"\$changes\?_cursor=[A-Za-z0-9_%-]{20,}&_count=2$", l));
    }

    [Fact]
    public async Task A_stations_change_behind_more_changes_it_may_not_see_than_a_pages_first_scan_arrives_in_its_first_page()
    {
        var admin = server.CreateClient();
        var data = new TestData(admin);
        var tag = data.Tag[..8];
        var station = await data.Create(new Organization { Name = "Station " + tag });
        var other = await data.Create(new Organization { Name = "Other " + tag });
        async Task<string> Resident(string org)
        {
            var id = await data.Create(new Patient { Name = [new HumanName { Family = "Resident " + tag }] });
            await data.Create(new EpisodeOfCare { Status = EpisodeOfCare.EpisodeOfCareStatus.Active, Patient = Ref("Patient", id), ManagingOrganization = Ref("Organization", org) });
            return id;
        }
        Observation Obs(string patient) => new() { Status = ObservationStatus.Final, Code = new CodeableConcept("urn:test:code", tag), Subject = Ref("Patient", patient) };
        var theirs = await Resident(other);
        var mine = await Resident(station);
        var start = await Position();
        // More changes the station may not see than a page looks at first (ChangeFeed.FirstScan), then one it may.
        for (var t = 0; t < 2; t++)
        {
            var bundle = new Bundle { Type = Bundle.BundleType.Transaction };
            for (var i = 0; i < 1100; i++)
                bundle.Entry.Add(new Bundle.EntryComponent { Resource = Obs(theirs), Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "Observation" } });
            var response = await admin.PostAsync("/fhir", FhirTest.Body(bundle));
            Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        }
        Assert.True(await Position() - start > Interop.Fhir.Storage.ChangeFeed.FirstScan);
        var wanted = $"Observation/{await data.Create(Obs(mine))}";
        var client = await server.ClientWith("feed-sparse-" + tag, "system/*.rs", $"Organization/{station}", "clinician");
        // The first page holds it: the page looked past its first scan, which held nothing for the station. (A young
        // gap of another test's write may end a page early for a moment: asked again until the settle time is over.)
        var keys = new List<string>();
        for (var clock = System.Diagnostics.Stopwatch.StartNew(); clock.Elapsed < TimeSpan.FromSeconds(10) && !keys.Contains(wanted); await Task.Delay(250))
        {
            var page = await (await client.GetAsync($"/fhir/$changes?after={start}&_count=2")).ReadJson();
            keys = page["entry"]?.AsArray().Select(e => e!["fullUrl"]!.GetValue<string>().Split("/fhir/")[1]).ToList() ?? [];
        }
        Assert.Equal([wanted], keys);
    }

    [Fact]
    public async Task Scopes_still_apply_a_bad_cursor_is_a_400_and_break_glass_does_not_open_the_feed()
    {
        var w = await Build();
        var narrow = await server.ClientWith("feed-narrow-" + w.Station[..8], "system/Patient.rs", $"Organization/{w.Station}", "clinician");
        var refused = await narrow.GetAsync("/fhir/$changes?after=0");
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.DoesNotContain("\"entry\"", await refused.Content.ReadAsStringAsync());
        var station = await server.ClientWith("feed-station2-" + w.Station[..8], "system/*.rs", $"Organization/{w.Station}", "clinician");
        var bad = await station.GetAsync("/fhir/$changes?_cursor=not-a-position");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("_cursor", (await bad.Issues())[0].Expression);
        Assert.Equal(HttpStatusCode.BadRequest, (await station.GetAsync("/fhir/$changes?after=1&_cursor=x")).StatusCode);
        // The other station's clinician with break-glass: still only what the policy lets it see of the feed.
        var emergency = await server.ClientWith("feed-er-" + w.Station[..8], "system/*.rs", $"Organization/{w.Other}", "clinician", "break-glass");
        var theirs = w.Hidden.First(k => k.StartsWith("Patient/", StringComparison.Ordinal));
        var read = await ReadUntil(emergency, w.Start, w.TheirDelete, ("X-Break-Glass", "reading everything"));
        var keys = read.Changes.Select(c => c.Key).ToList();
        Assert.Contains(theirs, keys);
        Assert.Contains(w.TheirDelete, keys);
        Assert.DoesNotContain(keys, k => w.Visible.Contains(k));
        Assert.All(read.NextLinks, l => Assert.DoesNotContain("after=", l));
    }
}

using System.Net;
using System.Text.Json.Nodes;
using Hl7.Fhir.Model;
using Interop.Tests.Infrastructure;
using Npgsql;

namespace Interop.Tests.Storage;

/// <summary>
/// The change feed: every version is one event in Marten's event store, written in the version's own transaction,
/// read in sequence order from any position; a page ends at a young gap in the sequence (a transaction in flight).
/// </summary>
public sealed class ChangeFeedTests(ChangeFeedTests.QuickSettleFixture server) : IClassFixture<ChangeFeedTests.QuickSettleFixture>
{
    public sealed class QuickSettleFixture : FhirServerFixture
    {
        protected override IDictionary<string, string> Settings => new Dictionary<string, string> { ["Fhir:ChangeSettleSeconds"] = "3" };
    }

    private static async Task<JsonObject> Changes(HttpClient client, long after, int count = 100)
    {
        var response = await client.GetAsync($"/fhir/$changes?after={after}&_count={count}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.ReadJson();
    }

    private static long Next(JsonObject bundle) =>
        long.Parse(bundle["link"]!.AsArray().Single(l => l!["relation"]!.GetValue<string>() == "next")!["url"]!.GetValue<string>().Split("after=")[1].Split('&')[0]);

    /// <summary>Reads the feed from <paramref name="after"/> until <paramref name="wanted"/> entries came (a gap holds the feed back for a few seconds).</summary>
    private static async Task<List<JsonNode>> ReadUntil(HttpClient client, long after, Func<List<JsonNode>, bool> done)
    {
        var seen = new List<JsonNode>();
        for (var clock = System.Diagnostics.Stopwatch.StartNew(); clock.Elapsed < TimeSpan.FromSeconds(60);)
        {
            var page = await Changes(client, after, 2);
            var entries = page["entry"]?.AsArray().Select(e => e!).ToList() ?? [];
            seen.AddRange(entries);
            after = Next(page);
            if (done(seen)) return seen;
            if (entries.Count == 0) await Task.Delay(200);
        }
        throw new TimeoutException("the change feed did not deliver the changes within 60 s");
    }

    private async Task<long> Position()
    {
        await using var db = new NpgsqlConnection(server.ConnectionString);
        await db.OpenAsync();
        await using var cmd = new NpgsqlCommand("select coalesce(max(seq_id), 0) from fhir.mt_events", db);
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task Every_change_is_in_the_feed_once_in_order_and_pages_continue_from_their_position()
    {
        var client = server.CreateClient();
        await client.CreateId(new Basic { Code = new CodeableConcept("urn:t", "warm-up") });
        var start = await Position();
        var id = await client.CreateId(new Patient { Active = true });
        await client.PutAsync($"/fhir/Patient/{id}", FhirTest.Body(new Patient { Id = id, Active = false }));
        await client.DeleteAsync($"/fhir/Patient/{id}");
        var bundle = new Bundle { Type = Bundle.BundleType.Transaction };
        bundle.Entry.Add(new Bundle.EntryComponent { Resource = new Basic { Code = new CodeableConcept("urn:t", "in-tx") }, Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "Basic" } });
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/fhir", FhirTest.Body(bundle))).StatusCode);

        var changes = await ReadUntil(client, start, seen => seen.Count >= 4);
        Assert.Equal(4, changes.Count);
        Assert.Equal(["POST", "PUT", "DELETE", "POST"], changes.Select(c => c["request"]!["method"]!.GetValue<string>()));
        Assert.Equal(["Patient", $"Patient/{id}", $"Patient/{id}", "Basic"], changes.Select(c => c["request"]!["url"]!.GetValue<string>()));
        Assert.False(changes[1]["resource"]!["active"]!.GetValue<bool>()); // the version's own JSON
        Assert.Null(changes[2]["resource"]);                                       // a deletion has none
    }

    [Fact]
    public async Task A_rolled_back_transaction_leaves_nothing_in_the_feed()
    {
        var client = server.CreateClient();
        var start = await Position();
        var marker = Guid.NewGuid().ToString("N");
        var bundle = new Bundle { Type = Bundle.BundleType.Transaction };
        bundle.Entry.Add(new Bundle.EntryComponent { Resource = new Basic { Code = new CodeableConcept("urn:t", marker) }, Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "Basic" } });
        bundle.Entry.Add(new Bundle.EntryComponent { Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.DELETE, Url = $"Basic/{marker}" } });
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsync("/fhir", FhirTest.Body(bundle))).StatusCode);
        var after = await client.CreateId(new Basic { Code = new CodeableConcept("urn:t", "after") });
        var changes = await ReadUntil(client, start, seen => seen.Any(c => c["request"]!["url"]!.GetValue<string>() == $"Basic/{after}" || c["fullUrl"]!.GetValue<string>().EndsWith(after)));
        Assert.DoesNotContain(changes, c => c["resource"]?["code"]?["coding"]?[0]?["code"]?.GetValue<string>() == marker);
    }

    [Fact]
    public async Task A_page_ends_at_a_young_gap_until_it_is_filled_or_has_settled()
    {
        var client = server.CreateClient();
        await client.CreateId(new Basic { Code = new CodeableConcept("urn:t", "warm-up") });
        var start = await Position();
        // A transaction in flight has taken the next number and not committed: here, a number taken and never used.
        await using (var db = new NpgsqlConnection(server.ConnectionString))
        {
            await db.OpenAsync();
            await using var take = new NpgsqlCommand("select nextval('fhir.mt_events_sequence')", db);
            Assert.Equal(start + 1, (long)(await take.ExecuteScalarAsync())!);
        }
        var id = await client.CreateId(new Patient { Active = true });
        var held = await Changes(client, start);
        Assert.Empty(held["entry"]?.AsArray() ?? []);
        Assert.Equal(start, Next(held)); // the reader keeps its position before the gap
        await Task.Delay(TimeSpan.FromSeconds(3.5));
        var settled = await Changes(client, start);
        Assert.Equal($"Patient/{id}", settled["entry"]!.AsArray().Single()!["fullUrl"]!.GetValue<string>().Split("/fhir/")[1]);
        Assert.Equal(start + 2, Next(settled));
    }

    [Fact]
    public async Task A_gap_is_held_while_a_transaction_that_could_fill_it_is_open_and_passed_soon_after_it_rolls_back()
    {
        var client = server.CreateClient();
        await client.CreateId(new Basic { Code = new CodeableConcept("urn:t", "warm-up") });
        var start = await Position();
        await using var db = new NpgsqlConnection(server.ConnectionString);
        await db.OpenAsync();
        await using var tx = await db.BeginTransactionAsync();
        await using (var take = new NpgsqlCommand("select nextval('fhir.mt_events_sequence')", db, tx))
            Assert.Equal(start + 1, (long)(await take.ExecuteScalarAsync())!);
        var id = await client.CreateId(new Patient { Active = true });
        // held while the transaction that took the number is open, however often the feed is read
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(start, Next(await Changes(client, start)));
            await Task.Delay(250);
        }
        await tx.RollbackAsync();
        // then passed over within a poll or two: well before the settle time (3 s here, 30 s by default)
        var clock = System.Diagnostics.Stopwatch.StartNew();
        JsonObject page;
        while (Next(page = await Changes(client, start)) == start && clock.Elapsed < TimeSpan.FromSeconds(2.5)) await Task.Delay(100);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"the gap was passed only after {clock.Elapsed.TotalSeconds:F1} s");
        Assert.Equal($"Patient/{id}", page["entry"]!.AsArray().Single()!["fullUrl"]!.GetValue<string>().Split("/fhir/")[1]);
    }

    [Fact]
    public async Task Bad_positions_are_400()
    {
        var response = await server.CreateClient().GetAsync("/fhir/$changes?after=-1");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("after", (await response.Issues())[0].Expression);
    }
}

using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using Hl7.Fhir.Model;
using Interop.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Interop.Tests.Workflows;
using Xunit.Abstractions;
using ChannelType = Hl7.Fhir.Model.Subscription.SubscriptionChannelType;
using Status = Hl7.Fhir.Model.Subscription.SubscriptionStatus;

namespace Interop.Tests.Subscriptions;

/// <summary>
/// R4 Subscriptions on the referral gateway: a hospital's system hears of a referral task addressed to it within a
/// second (rest-hook to a real local endpoint, websocket); failing endpoints are retried and the Subscription shows it;
/// an institution without a care relationship hears nothing; bad subscriptions are refused naming the element; a
/// dead endpoint does not slow writes.
/// </summary>
public sealed class SubscriptionTests(GroupWorld world, ITestOutputHelper output) : IClassFixture<GroupWorld>
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    private string RequestedFor(string institution) => $"Task?owner=Organization/{institution}&status=requested";

    private static Subscription Of(string criteria, ChannelType type, string? endpoint, string? payload = "application/fhir+json", params string[] headers) => new()
    {
        Status = Status.Requested, Reason = "referral worklist", Criteria = criteria,
        Channel = new Subscription.ChannelComponent { Type = type, Endpoint = endpoint, Payload = payload, Header = headers },
    };

    private static async Task<Subscription> Subscribe(HttpClient client, Subscription subscription)
    {
        var response = await client.PostAsync("/fhir/Subscription", FhirTest.Body(subscription));
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return await response.ReadResource<Subscription>();
    }

    // A referral from station 1 to the hospital and its task, in one transaction by station 1's client; the task's id.
    private async Task<string> Refer(string? patient = null)
    {
        patient ??= await world.Resident();
        var referral = new ServiceRequest
        {
            Status = RequestStatus.Active, Intent = RequestIntent.Order, Subject = GroupWorld.Ref("Patient", patient),
            Extension = [new Extension("https://interop.example/fhir/StructureDefinition/referral-direction", new Code("up"))],
            Category = [new CodeableConcept("http://snomed.info/sct", "3457005")], Priority = RequestPriority.Urgent,
            Requester = GroupWorld.Ref("Organization", world.Station1), Performer = [GroupWorld.Ref("Organization", world.Hospital)],
            ReasonCode = [new CodeableConcept { Text = "uncontrolled hypertension" }],
        };
        var bundle = new Bundle { Type = Bundle.BundleType.Transaction };
        bundle.Entry.Add(new Bundle.EntryComponent { FullUrl = "urn:uuid:" + Guid.NewGuid(), Resource = referral, Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "ServiceRequest" } });
        var task = new Hl7.Fhir.Model.Task
        {
            Status = Hl7.Fhir.Model.Task.TaskStatus.Requested, Intent = Hl7.Fhir.Model.Task.TaskIntent.Order, Priority = RequestPriority.Urgent,
            Code = new CodeableConcept("http://hl7.org/fhir/CodeSystem/task-code", "fulfill"), BasedOn = [new ResourceReference(bundle.Entry[0].FullUrl)],
            For = GroupWorld.Ref("Patient", patient), Requester = GroupWorld.Ref("Organization", world.Station1), Owner = GroupWorld.Ref("Organization", world.Hospital),
        };
        bundle.Entry.Add(new Bundle.EntryComponent { Resource = task, Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "Task" } });
        var response = await world.Station1Client.PostAsync("/fhir", FhirTest.Body(bundle));
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var location = (await response.ReadResource<Bundle>()).Entry[1].Response.Location.Split('/');
        return location[Array.IndexOf(location, "Task") + 1];
    }

    private async Task<Subscription> Read(string id) => await (await world.Admin.GetAsync($"/fhir/Subscription/{id}")).ReadResource<Subscription>();

    private async Task<Subscription> Await(string id, Func<Subscription, bool> state, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            var current = await Read(id);
            if (state(current) || DateTime.UtcNow > until) return current;
            await System.Threading.Tasks.Task.Delay(50);
        }
    }

    [Fact]
    public async System.Threading.Tasks.Task A_task_addressed_to_the_hospital_reaches_its_rest_hook_within_a_second_with_the_header()
    {
        using var hook = new HookListener();
        var subscription = await Subscribe(world.HospitalClient, Of(RequestedFor(world.Hospital), ChannelType.RestHook, hook.Url, headers: "X-Api-Key: k-123"));
        Assert.Equal(Status.Active, subscription.Status); // requested → active on create
        var latencies = new List<double>();
        string task = "";
        for (var i = 1; i <= 5; i++)
        {
            var clock = Stopwatch.StartNew();
            task = await Refer();
            var written = clock.Elapsed;
            Assert.True(await hook.WaitFor(i, 3 * Second), $"no notification {i} within 3 s");
            latencies.Add((clock.Elapsed - written).TotalMilliseconds);
        }
        output.WriteLine($"rest-hook latency after the write returned, ms: {string.Join(", ", latencies.Select(l => l.ToString("F0")))}");
        Assert.True(latencies.Max() < 1000, $"a notification came {latencies.Max():F0} ms after its write");
        var received = hook.Requests.Last();
        Assert.Equal("k-123", received.Headers["X-Api-Key"]);
        Assert.Equal(subscription.Id, received.Headers["X-Subscription-Id"]);
        Assert.Contains("\"type\":\"history\"", received.Body);
        Assert.Contains($"\"id\":\"{task}\"", received.Body);
    }

    [Fact]
    public async System.Threading.Tasks.Task An_empty_payload_is_an_empty_post_and_a_task_that_does_not_match_sends_nothing()
    {
        using var hook = new HookListener();
        await Subscribe(world.HospitalClient, Of(RequestedFor(world.Hospital) + "&priority=routine", ChannelType.RestHook, hook.Url, payload: null));
        await Refer(); // urgent: no match
        Assert.False(await hook.WaitFor(1, 1.5 * Second));
        using var all = new HookListener();
        await Subscribe(world.HospitalClient, Of(RequestedFor(world.Hospital), ChannelType.RestHook, all.Url, payload: null));
        await Refer();
        Assert.True(await all.WaitFor(1, 3 * Second));
        Assert.Equal("", all.Requests.Single().Body);
        Assert.Empty(hook.Requests);
    }

    // Tasks are outside the R4 Patient compartment, so the access policy shares them like directory data; the referral
    // (ServiceRequest) is a resident's data, seen only by institutions that care for the resident.
    [Fact]
    public async System.Threading.Tasks.Task A_subscriber_without_a_care_relationship_hears_nothing_of_another_institutions_resident()
    {
        using var hospital = new HookListener();
        using var station2 = new HookListener();
        var referrals = $"ServiceRequest?performer=Organization/{world.Hospital}&status=active";
        await Subscribe(world.HospitalClient, Of(referrals, ChannelType.RestHook, hospital.Url));
        await Subscribe(world.Station2Client, Of(referrals, ChannelType.RestHook, station2.Url));
        await Refer();
        Assert.True(await hospital.WaitFor(1, 3 * Second), "the hospital, which the referral is addressed to, heard nothing");
        var referral = (await world.Admin.GetAsync($"/fhir/ServiceRequest?performer=Organization/{world.Hospital}&_sort=-_lastUpdated&_count=1")).ReadJson();
        var id = TestData.Matches(await referral).Single();
        Assert.Contains($"\"id\":\"{id}\"", hospital.Requests.Single().Body);
        Assert.False(await station2.WaitFor(1, 1.5 * Second), "station 2, without a care relationship, was notified");
        // as its own search would: station 2 does not find the referral either
        Assert.Empty(TestData.Matches(await (await world.Station2Client.GetAsync($"/fhir/ServiceRequest?_id={id}")).ReadJson()));
    }

    [Fact]
    public async System.Threading.Tasks.Task A_hook_that_fails_twice_shows_error_and_is_delivered_on_the_third_attempt_then_active_again()
    {
        using var hook = new HookListener(n => n <= 2 ? 500 : 200);
        var subscription = await Subscribe(world.HospitalClient, Of(RequestedFor(world.Hospital), ChannelType.RestHook, hook.Url));
        var task = await Refer();
        var failing = await Await(subscription.Id, s => s.Status == Status.Error, 6 * Second);
        Assert.Equal(Status.Error, failing.Status);
        Assert.Contains("500", failing.Error);
        Assert.True(await hook.WaitFor(3, 10 * Second), $"{hook.Requests.Count} attempts");
        var times = hook.Requests.Select(r => r.At).ToList();
        Assert.True(times[1] - times[0] >= 0.9 * Second && times[2] - times[1] >= 1.9 * Second, "the retries did not back off: " + string.Join(", ", times.Select(t => t.ToString("HH:mm:ss.fff"))));
        Assert.All(hook.Requests, r => Assert.Contains($"\"id\":\"{task}\"", r.Body));
        var recovered = await Await(subscription.Id, s => s.Status == Status.Active, 3 * Second);
        Assert.Equal(Status.Active, recovered.Status);
        Assert.Null(recovered.Error);
        Assert.False(await hook.WaitFor(4, 1.5 * Second), "delivered again after success");
    }

    [Fact]
    public async System.Threading.Tasks.Task A_subscription_of_a_client_since_removed_hears_nothing_and_says_why()
    {
        using var hook = new HookListener();
        var clientId = "hospital-hooks-" + Guid.NewGuid().ToString("N")[..8];
        var client = await world.Server.ClientWith(clientId, "system/*.cruds", $"Organization/{world.Hospital}", "clinician");
        var subscription = await Subscribe(client, Of(RequestedFor(world.Hospital), ChannelType.RestHook, hook.Url));
        await Refer();
        Assert.True(await hook.WaitFor(1, 5 * Second), "not delivered while the client was registered");
        Assert.Equal(HttpStatusCode.NoContent, (await world.Admin.DeleteAsync($"/admin/clients/{clientId}")).StatusCode);
        await Refer();
        var refused = await Await(subscription.Id, s => s.Status == Status.Error, 5 * Second);
        Assert.Equal(Status.Error, refused.Status);
        Assert.Contains("no longer registered", refused.Error);
        Assert.False(await hook.WaitFor(2, 1.5 * Second), "delivered after the client was removed");
    }

    [Fact]
    public async System.Threading.Tasks.Task Given_up_notifications_are_purged_after_the_retention_and_nothing_else()
    {
        var subscription = "purge-" + Guid.NewGuid().ToString("N")[..8];
        await using (var db = new Npgsql.NpgsqlConnection(world.Server.ConnectionString))
        {
            await db.OpenAsync();
            await using var insert = new Npgsql.NpgsqlCommand($"""
                insert into fhir.subscription_delivery (subscription_id, sequence, resource_key, failed, due) values
                  ('{subscription}', 1, 'Task/old-failed', true, now() - interval '8 days'),
                  ('{subscription}', 2, 'Task/new-failed', true, now() - interval '1 day'),
                  ('{subscription}', 3, 'Task/old-pending', false, now() + interval '1 day')
                """, db);
            await insert.ExecuteNonQueryAsync();
        }
        var queue = world.Server.Services.GetRequiredService<Interop.Fhir.Subscriptions.DeliveryQueue>();
        Assert.True(await queue.Purge(TimeSpan.FromDays(7), CancellationToken.None) >= 1);
        await using (var db = new Npgsql.NpgsqlConnection(world.Server.ConnectionString))
        {
            await db.OpenAsync();
            await using var left = new Npgsql.NpgsqlCommand($"select resource_key from fhir.subscription_delivery where subscription_id = '{subscription}' order by sequence", db);
            var keys = new List<string>();
            await using var reader = await left.ExecuteReaderAsync();
            while (await reader.ReadAsync()) keys.Add(reader.GetString(0));
            Assert.Equal(["Task/new-failed", "Task/old-pending"], keys);
        }
    }

    [Theory]
    [InlineData("Task?nonsense=1", "rest-hook", "ok", null, null, "Subscription.criteria")]
    [InlineData("Tusk?status=requested", "rest-hook", "ok", null, null, "Subscription.criteria")]
    [InlineData("Task?status=requested", "email", "ok", null, null, "Subscription.channel.type")]
    [InlineData("Task?status=requested", "rest-hook", "http://example.org/hook", null, null, "Subscription.channel.endpoint")]
    [InlineData("Task?status=requested", "rest-hook", "ok", "application/fhir+xml", null, "Subscription.channel.payload")]
    [InlineData("Task?status=requested", "rest-hook", "ok", null, "no colon here", "Subscription.channel.header[0]")]
    public async System.Threading.Tasks.Task A_subscription_the_server_cannot_serve_is_refused_naming_the_element(string criteria, string type, string endpoint, string? payload, string? header, string element)
    {
        var channel = Hl7.Fhir.Utility.EnumUtility.ParseLiteral<ChannelType>(type)!.Value;
        var subscription = Of(criteria, channel, endpoint == "ok" ? "https://hooks.example.org/interop" : endpoint, payload, header is null ? [] : [header]);
        var response = await world.HospitalClient.PostAsync("/fhir/Subscription", FhirTest.Body(subscription));
        Assert.True(response.StatusCode == HttpStatusCode.UnprocessableEntity, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        Assert.Contains(await response.Issues(), i => i.Expression == element);
    }

    [Fact]
    public async System.Threading.Tasks.Task A_subscriber_needs_search_scope_on_the_criterias_type()
    {
        var narrow = await world.Server.ClientWith("subs-only-" + Guid.NewGuid().ToString("N")[..6], "system/Subscription.cruds", $"Organization/{world.Hospital}", "clinician");
        var response = await narrow.PostAsync("/fhir/Subscription", FhirTest.Body(Of(RequestedFor(world.Hospital), ChannelType.RestHook, "https://hooks.example.org/x")));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains(await response.Issues(), i => i.Diagnostics.Contains("system/Task.s"));
    }

    private async Task<WebSocket> Socket(HttpClient owner)
    {
        var client = world.Server.Server.CreateWebSocketClient();
        client.ConfigureRequest = r => r.Headers.Authorization = owner.DefaultRequestHeaders.Authorization!.ToString();
        return await client.ConnectAsync(new Uri("ws://localhost/fhir/$subscription-websocket"), CancellationToken.None);
    }

    private static async Task<string> Say(WebSocket socket, string text)
    {
        await socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);
        return await Hear(socket, 3 * Second);
    }

    private static async Task<string> Hear(WebSocket socket, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[4096];
        var result = await socket.ReceiveAsync(buffer, cts.Token);
        return Encoding.UTF8.GetString(buffer, 0, result.Count);
    }

    [Fact]
    public async System.Threading.Tasks.Task A_websocket_binds_to_its_own_institutions_subscription_and_is_pinged_others_are_refused()
    {
        var subscription = await Subscribe(world.HospitalClient, Of(RequestedFor(world.Hospital), ChannelType.Websocket, null, payload: null));
        using var other = await Socket(world.Station2Client);
        Assert.StartsWith($"error {subscription.Id}", await Say(other, "bind " + subscription.Id));
        using var socket = await Socket(world.HospitalClient);
        Assert.Equal("bound " + subscription.Id, await Say(socket, "bind " + subscription.Id));
        var clock = Stopwatch.StartNew();
        await Refer();
        var written = clock.Elapsed;
        Assert.Equal("ping " + subscription.Id, await Hear(socket, 3 * Second));
        output.WriteLine($"websocket ping {(clock.Elapsed - written).TotalMilliseconds:F0} ms after the write returned");
        Assert.True(clock.Elapsed - written < Second, $"the ping came {(clock.Elapsed - written).TotalMilliseconds:F0} ms after the write");
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Hear(other, 0.5 * Second)); // the refused socket hears nothing
    }

    [Fact]
    public async System.Threading.Tasks.Task A_websocket_without_a_token_is_refused_before_the_upgrade()
    {
        var client = world.Server.Server.CreateWebSocketClient();
        var e = await Assert.ThrowsAnyAsync<Exception>(() => client.ConnectAsync(new Uri("ws://localhost/fhir/$subscription-websocket"), CancellationToken.None));
        Assert.Contains("401", e.Message);
    }

    [Fact]
    public async System.Threading.Tasks.Task A_dead_endpoint_does_not_slow_writes()
    {
        using var dead = new HookListener(_ => null); // accepts and never answers
        await Subscribe(world.HospitalClient, Of(RequestedFor(world.Hospital), ChannelType.RestHook, dead.Url));
        var slowest = TimeSpan.Zero;
        for (var i = 0; i < 4; i++)
        {
            var clock = Stopwatch.StartNew();
            await Refer();
            slowest = clock.Elapsed > slowest ? clock.Elapsed : slowest;
        }
        Assert.True(await dead.WaitFor(1, 3 * Second), "the dead endpoint was never called");
        Assert.True(slowest < 2 * Second, $"a write took {slowest.TotalMilliseconds:F0} ms with a hung subscriber (its timeout is 5 s)");
    }

    [Fact]
    public async System.Threading.Tasks.Task A_hung_subscriber_does_not_hold_back_another_subscribers_notifications()
    {
        using var hung = new HookListener(_ => null); // accepts and never answers: each delivery waits for the 5 s timeout
        using var healthy = new HookListener();
        await Subscribe(world.HospitalClient, Of(RequestedFor(world.Hospital), ChannelType.RestHook, hung.Url));
        await Subscribe(world.HospitalClient, Of(RequestedFor(world.Hospital), ChannelType.RestHook, healthy.Url));
        await Refer();
        Assert.True(await hung.WaitFor(1, 3 * Second), "the hung endpoint was never called");
        Assert.True(await healthy.WaitFor(1, 3 * Second), "the healthy endpoint was never called");

        // The hung delivery still holds its connection; the next task must reach the healthy subscriber regardless.
        var clock = Stopwatch.StartNew();
        await Refer();
        var written = clock.Elapsed;
        Assert.True(await healthy.WaitFor(2, 4 * Second), "no second notification within 4 s");
        var latency = clock.Elapsed - written;
        Assert.True(latency < 1.5 * Second, $"the healthy subscriber waited {latency.TotalMilliseconds:F0} ms behind the hung one");
    }
}

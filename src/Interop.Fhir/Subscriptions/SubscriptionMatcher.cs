using Interop.Fhir.Errors;
using Interop.Fhir.Pipeline;
using Interop.Fhir.Storage;
using Microsoft.Extensions.Logging;

namespace Interop.Fhir.Subscriptions;

/// <summary>
/// Whether a change concerns a subscription: its criteria, with <c>_id</c> of the changed resource added, run as a
/// search through the pipeline as the subscriber — the subscription's institution (so the group's access policy
/// decides what it may hear of, exactly as for its own searches) with read and search scope on the criteria's type,
/// which its creator had to hold (SubscriptionScopeBehaviour). A subscription of a caller without an institution
/// hears of everything that scope allows. The check is not itself an access: it is not logged; the delivery is.
/// Before that, the subscribing client must still be allowed search on the type (<see cref="ISubscriberCheck"/>);
/// while it is not, the Subscription shows status error with the reason and hears of nothing.
/// </summary>
public sealed class SubscriptionMatcher(FhirPipeline pipeline, ISubscriberCheck subscribers, SubscriptionStatusWriter status, ILogger<SubscriptionMatcher> log)
{
    /// <param name="refusals">The subscriber checks already made for this page of the feed (subscription id → refusal or null): each client is read once per page.</param>
    public async Task<List<Notification>> Match(Change change, IReadOnlyList<ActiveSubscription> subscriptions, Dictionary<string, string?> refusals, CancellationToken ct)
    {
        var version = change.Version;
        var found = new List<Notification>();
        if (version.Deleted) return found;
        foreach (var subscription in subscriptions.Where(s => s.Criteria.Type == version.ResourceType))
        {
            if (!refusals.TryGetValue(subscription.Id, out var refused))
            {
                refusals[subscription.Id] = refused = await subscribers.Refusal(subscription, ct);
                if (refused is not null) await status.Set(subscription, Hl7.Fhir.Model.Subscription.SubscriptionStatus.Error, refused, ct);
            }
            if (refused is not null) continue;
            if (await Find(subscription, version.Id, ct) is { } current)
                found.Add(new Notification(subscription, change.Sequence, version.Key,
                    subscription.Resource.Channel.Payload == SubscriptionRules.JsonPayload ? current.Json : null));
        }
        return found;
    }

    /// <summary>The pipeline's context of a subscription's checks: its institution, read and search on its criteria's type.</summary>
    public static RequestContext Subscriber(ActiveSubscription s) =>
        new(new Caller(s.Client, null, s.Institution, new HashSet<string> { $"system/{s.Criteria.Type}.rs" }, true), "", Guid.NewGuid().ToString("N"));

    private async Task<StoredVersion?> Find(ActiveSubscription subscription, string id, CancellationToken ct)
    {
        try
        {
            var outcome = await pipeline.Send<SearchOutcome>(Subscriber(subscription), new SearchRequest(subscription.Criteria.Search(id)), ct);
            return outcome.Result.Hits.FirstOrDefault(h => !h.Included && h.Version.Id == id)?.Version;
        }
        catch (FhirException e)
        {
            log.LogWarning("Subscription/{Id} could not be matched against {Type}/{Resource}: {Reason}", subscription.Id, subscription.Criteria.Type, id, e.Message);
            return null;
        }
    }
}

namespace Interop.Fhir.Subscriptions;

/// <summary>
/// Whether the client that created a subscription may still hear of what it asks for: its scopes were checked when it
/// subscribed (SubscriptionScopeBehaviour), and this check repeats that against the client's registration as it is now
/// — a removed client, or one no longer allowed search on the criteria's type, gets nothing. Null: allowed; else the reason.
/// </summary>
public interface ISubscriberCheck
{
    ValueTask<string?> Refusal(ActiveSubscription subscription, CancellationToken ct);
}

/// <summary>Where no client registry exists (the command-line tools): everything stays allowed.</summary>
public sealed class AnySubscriber : ISubscriberCheck
{
    public ValueTask<string?> Refusal(ActiveSubscription subscription, CancellationToken ct) => ValueTask.FromResult<string?>(null);
}

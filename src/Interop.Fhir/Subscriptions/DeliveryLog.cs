using Interop.Fhir.Audit;
using Interop.Fhir.Errors;
using Microsoft.Extensions.Logging;

namespace Interop.Fhir.Subscriptions;

/// <summary>
/// Records each rest-hook attempt: a log line, and an AuditEvent in the access log (type rest, subtype operation,
/// agent the subscription's institution with client <c>subscription:{id}</c>, entities the resource and the
/// Subscription, the residents whose data it carried; outcome 0, or 4 with the reason when it failed).
/// </summary>
public sealed class DeliveryLog(AuditLog audit, ILogger<DeliveryLog> log)
{
    public async Task Record(ActiveSubscription subscription, Delivery delivery, string? error, TimeSpan took, CancellationToken ct)
    {
        if (error is null)
            log.LogInformation("Subscription/{Id}: {Resource} delivered to {Endpoint} in {Ms} ms (attempt {Attempt})",
                subscription.Id, delivery.ResourceKey, subscription.Resource.Channel.Endpoint, (int)took.TotalMilliseconds, delivery.Attempt);
        else
            log.LogWarning("Subscription/{Id}: {Resource} not delivered (attempt {Attempt}): {Error}", subscription.Id, delivery.ResourceKey, delivery.Attempt, error);
        if (!audit.Enabled) return;
        var patients = new HashSet<string>();
        PatientRefs.Collect(delivery.Payload, patients);
        var who = new AuditWho("subscription:" + subscription.Id, null, null, subscription.Institution, null, null, null, Guid.NewGuid().ToString("N"));
        var what = new AuditWhat("rest", "operation", "E", error is null ? 0 : 4, error, patients,
            [delivery.ResourceKey, "Subscription/" + subscription.Id], Started: DateTimeOffset.UtcNow - took);
        try
        {
            await audit.Append(AuditEvents.Build(who, what, audit.Options.Site), ct);
        }
        catch (FhirException e)
        {
            log.LogError("Subscription/{Id}: the delivery of {Resource} could not be recorded in the access log: {Reason}", subscription.Id, delivery.ResourceKey, e.Message);
        }
    }
}

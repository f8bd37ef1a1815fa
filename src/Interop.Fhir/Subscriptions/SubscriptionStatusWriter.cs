using Hl7.Fhir.Model;
using Interop.Fhir.Audit;
using Interop.Fhir.Errors;
using Interop.Fhir.Formats;
using Interop.Fhir.Pipeline;
using Interop.Fhir.Storage;
using Microsoft.Extensions.Logging;
using Status = Hl7.Fhir.Model.Subscription.SubscriptionStatus;

namespace Interop.Fhir.Subscriptions;

/// <summary>
/// Shows the delivery state on the Subscription itself: status error with the reason in Subscription.error after
/// repeated failures, active again (error cleared) when a delivery succeeds. The server writes the new version
/// through the pipeline as the system caller <see cref="Writer"/> (audited like any write, If-Match on the version it
/// read), recording the subscribing institution on it as before. A subscription someone switched off is left alone.
/// Writes are made one at a time: two deliveries failing together would otherwise race on one version, and the loser's
/// rolled-back transaction leaves a gap that holds the change feed up for Fhir:ChangeSettleSeconds.
/// </summary>
public sealed class SubscriptionStatusWriter(FhirPipeline pipeline, AuditLog audit, ILogger<SubscriptionStatusWriter> log)
{
    public const string Writer = "interop-subscriptions";
    private readonly SemaphoreSlim _one = new(1, 1);

    public async System.Threading.Tasks.Task Set(ActiveSubscription subscription, Status status, string? error, CancellationToken ct)
    {
        var context = RequestContext.ForSystem(Writer);
        context = context with { Writer = new WriteContext(Writer, subscription.Institution) { Trusted = true, Audit = audit.For(context) } };
        await _one.WaitAsync(ct);
        try
        {
            var current = await pipeline.Send<VersionResult>(context, new ReadRequest("Subscription", subscription.Id), ct);
            if (current.Version.Json is not { } json || FhirSerialization.ParseStored(json) is not Subscription stored) return;
            if (stored.Status is not (Status.Active or Status.Error) || (stored.Status == status && stored.Error == error)) return;
            stored.Status = status;
            stored.Error = error;
            await pipeline.Send<VersionResult>(context, new UpdateRequest(stored, subscription.Id, current.Version.VersionId), ct);
            log.LogInformation("Subscription/{Id} is now {Status}{Error}", subscription.Id, status, error is null ? "" : ": " + error);
        }
        catch (FhirException e)
        {
            // Changed or deleted meanwhile: the next delivery tries again on the new version.
            log.LogWarning("Subscription/{Id}: status {Status} not recorded: {Reason}", subscription.Id, status, e.Message);
        }
        finally
        {
            _one.Release();
        }
    }
}

using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using Interop.Fhir.Formats;
using Interop.Fhir.Model;
using Interop.Fhir.Pipeline;

namespace Interop.Fhir.Subscriptions;

/// <summary>
/// A websocket's <c>bind &lt;id&gt;</c>: the caller asks to hear the pings of a websocket Subscription. It reads the
/// subscription through the pipeline (read scope on Subscription), and only the institution it was made for may bind —
/// or, for a subscription made without an institution, a caller without one (the group's own systems); admins may too.
/// </summary>
public sealed record SubscriptionBindRequest(string SubscriptionId) : FhirRequest
{
    public override Interaction Interaction => Interaction.Operation;
    public override string ResourceType => "Subscription";
    public override string Id => SubscriptionId;
    public override string Operation => "subscription-websocket";
    public override bool ReadsOnlyThroughNested => true;
}

/// <summary>The subscription a websocket is bound to.</summary>
public sealed record BindResult(string SubscriptionId) : InteractionResult(ResultKind.Ok);

public sealed class SubscriptionBindHandler(SubscriptionStore store) : Handler<SubscriptionBindRequest>
{
    protected override async Task<InteractionResult> Handle(SubscriptionBindRequest r, InteractionCall call, CancellationToken ct)
    {
        var read = (VersionResult)await call.Nested(new ReadRequest("Subscription", r.SubscriptionId), ct);
        if (read.Version.Json is not { } json || FhirSerialization.ParseStored(json) is not Subscription subscription)
            throw FhirException.NotFound($"Subscription/{r.SubscriptionId} does not exist.");
        if (subscription.Channel?.Type != Subscription.SubscriptionChannelType.Websocket)
            throw FhirException.BadRequest($"Subscription/{r.SubscriptionId} has channel type {subscription.Channel?.TypeElement?.JsonValue}, not websocket.", "bind");
        var (_, institution) = await store.Owner(r.SubscriptionId, ct);
        var caller = call.Context.Caller;
        if (!caller.Unrestricted && !caller.Roles.Contains("admin") && caller.Institution != institution)
            throw FhirException.Forbidden(
                $"Subscription/{r.SubscriptionId} belongs to {institution ?? "the group (no institution)"}; a caller acting for {caller.Institution ?? "no institution"} may not bind to it.");
        return new BindResult(r.SubscriptionId);
    }
}

using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using Interop.Fhir.Pipeline;
using Interop.Fhir.Scopes;

namespace Interop.Fhir.Subscriptions;

/// <summary>
/// The authorise stage for writes of a Subscription: its notifications are checked with search scope on the criteria's
/// type (SubscriptionMatcher), so whoever creates or changes one must hold that scope now (403 naming the scope
/// otherwise). A patient-scoped token cannot subscribe: the dispatcher does not confine notifications to one patient's compartment.
/// </summary>
public sealed class SubscriptionScopeBehaviour : IInteractionBehaviour
{
    public Stage Stage => Stage.Authorise;

    public ValueTask Before(InteractionCall call, CancellationToken ct)
    {
        var caller = call.Context.Caller;
        if (caller.Unrestricted || call.Request.Resource is not Subscription subscription) return ValueTask.CompletedTask;
        if (call.Interaction is not (Interaction.Create or Interaction.ConditionalCreate or Interaction.Update or Interaction.ConditionalUpdate))
            return ValueTask.CompletedTask;
        if (caller.Patient is not null)
            throw FhirException.Forbidden("A token with a patient in context cannot create subscriptions; a system or a user acting for an institution can.");
        var type = SubscriptionCriteria.Parse(subscription.Criteria).Type;
        if (!caller.Grants.Allows(type, Permission.Search))
            throw FhirException.Forbidden(
                $"A subscription to {type} is checked with search on {type}, which the access token's scopes do not allow: it needs a scope such as system/{type}.s.");
        return ValueTask.CompletedTask;
    }
}

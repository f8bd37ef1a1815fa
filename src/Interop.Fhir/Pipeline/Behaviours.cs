using Interop.Fhir.Errors;

namespace Interop.Fhir.Pipeline;

/// <summary>
/// The fixed order of the pipeline: authorise → validate → execute (the handler) → audit → publish.
/// Behaviours of the first two stages run before the handler and may refuse the call (or, for a search, add
/// criteria to its query); those of the last two run after it, on success and on failure alike.
/// </summary>
public enum Stage { Authorise = 1, Validate = 2, Audit = 4, Publish = 5 }

/// <summary>One call through the pipeline: the context, the request, and the call it is part of (a bundle's entries).</summary>
public sealed record InteractionCall(RequestContext Context, FhirRequest Request, InteractionCall? Parent = null)
{
    public Interaction Interaction => Request.Interaction;

    internal FhirPipeline Pipeline { get; init; } = null!;

    /// <summary>Runs a request that is part of this call (a bundle's read entries) through the whole pipeline.</summary>
    public Task<InteractionResult> Nested(FhirRequest request, CancellationToken ct) =>
        Pipeline.Run(new InteractionCall(Context, request, this) { Pipeline = Pipeline }, ct);
}

/// <summary>A seam around every handler: scopes and access policy, validation, the audit log, subscriptions.</summary>
public interface IInteractionBehaviour
{
    Stage Stage { get; }

    /// <summary>Before the handler (authorise, validate stages): throw a <see cref="FhirException"/> to refuse.</summary>
    ValueTask Before(InteractionCall call, CancellationToken ct) => ValueTask.CompletedTask;

    /// <summary>After the handler (audit, publish stages): exactly one of <paramref name="result"/> and <paramref name="error"/> is set.</summary>
    ValueTask After(InteractionCall call, InteractionResult? result, FhirException? error, CancellationToken ct) => ValueTask.CompletedTask;
}

/// <summary>
/// The publish stage's seam for in-process notification. Every change is already in the change feed (written in its
/// own transaction, see Storage/ChangeFeed); R4 Subscriptions are served from there (Subscriptions/SubscriptionDispatcher),
/// so that changes made by every server on the database are notified.
/// </summary>
public sealed class PublishBehaviour : IInteractionBehaviour
{
    public Stage Stage => Stage.Publish;
}

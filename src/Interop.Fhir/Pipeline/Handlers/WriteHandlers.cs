using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using Interop.Fhir.Model;
using Interop.Fhir.Patch;
using Interop.Fhir.Storage;
using Interop.Fhir.Transactions;

namespace Interop.Fhir.Pipeline.Handlers;

/// <summary>
/// create, and conditional create (If-None-Exist: 0 matches create, 1 is returned, more is 412). Types a workflow
/// rule governs are written as a one-entry transaction, where the rules run.
/// </summary>
public sealed class CreateHandler(ResourceStore store, TransactionProcessor processor) : Handler<CreateRequest>
{
    protected override async Task<InteractionResult> Handle(CreateRequest r, InteractionCall call, CancellationToken ct)
    {
        ResourceTypes.Require(r.ResourceType);
        if (r.IfNoneExist is null && !processor.Governed(r.ResourceType))
            return new VersionResult(ResultKind.Created, await store.Create(r.Body, call.Context.Writer, ct));
        var entry = EntryRequest.Rest(Bundle.HTTPVerb.POST, r.ResourceType, r.Body, ifNoneExist: r.IfNoneExist, policy: r.MatchPolicy);
        return await Single.Run(processor, entry, call, ct);
    }
}

/// <summary>update, or create with the client's id; the ids in the URL and the body must agree.</summary>
public sealed class UpdateHandler(ResourceStore store, TransactionProcessor processor) : Handler<UpdateRequest>
{
    protected override async Task<InteractionResult> Handle(UpdateRequest r, InteractionCall call, CancellationToken ct)
    {
        ResourceTypes.Require(r.ResourceType);
        if (string.IsNullOrEmpty(r.Body.Id))
            throw FhirException.BadRequest($"The resource in the body has no id; an update needs id '{r.ResourceId}' in the body.", $"{r.ResourceType}.id");
        if (r.Body.Id != r.ResourceId)
            throw FhirException.BadRequest($"The id in the body ('{r.Body.Id}') does not match the id in the URL ('{r.ResourceId}').", $"{r.ResourceType}.id");
        if (processor.Governed(r.ResourceType))
            return await Single.Run(processor, EntryRequest.Rest(Bundle.HTTPVerb.PUT, $"{r.ResourceType}/{r.ResourceId}", r.Body, r.IfMatch, policy: r.MatchPolicy), call, ct);
        var (saved, created) = await store.Update(r.Body, r.IfMatch, call.Context.Writer, ct);
        return new VersionResult(created ? ResultKind.Created : ResultKind.Updated, saved);
    }
}

/// <summary>PUT Type?criteria: 0 matches create, 1 updates it, more is 412.</summary>
public sealed class ConditionalUpdateHandler(TransactionProcessor processor) : Handler<ConditionalUpdateRequest>
{
    protected override Task<InteractionResult> Handle(ConditionalUpdateRequest r, InteractionCall call, CancellationToken ct) =>
        Single.Run(processor, EntryRequest.Rest(Bundle.HTTPVerb.PUT, $"{r.Type}?{r.Criteria}", r.Body, r.IfMatch, policy: r.MatchPolicy), call, ct);
}

/// <summary>PATCH Type?criteria: the one match is patched in its transaction (none: 404, several: 412), as a bundle's conditional PATCH entry.</summary>
public sealed class ConditionalPatchHandler(TransactionProcessor processor) : Handler<ConditionalPatchRequest>
{
    protected override Task<InteractionResult> Handle(ConditionalPatchRequest r, InteractionCall call, CancellationToken ct) =>
        Single.Run(processor, EntryRequest.Rest(Bundle.HTTPVerb.PATCH, $"{r.Type}?{r.Criteria}", r.Patch, r.IfMatch, policy: r.MatchPolicy), call, ct);
}

/// <summary>
/// patch: JSON Patch or FHIRPath Patch, computed on the current version and stored only on top of it. Without
/// If-Match, a concurrent writer's new version is patched again, as a plain update would retry.
/// </summary>
public sealed class PatchHandler(ResourceStore store, IResourceCheck check, TransactionProcessor processor) : Handler<PatchRequest>
{
    protected override async Task<InteractionResult> Handle(PatchRequest r, InteractionCall call, CancellationToken ct)
    {
        ResourceTypes.Require(r.Type);
        if (processor.Governed(r.Type))
            return await Single.Run(processor, EntryRequest.Rest(Bundle.HTTPVerb.PATCH, $"{r.Type}/{r.ResourceId}", r.Patch, r.IfMatch, policy: r.MatchPolicy), call, ct);
        for (var attempt = 0; ; attempt++)
        {
            var current = await store.ReadCurrent(r.Type, r.ResourceId, ct) ?? throw FhirException.NotFound($"{r.Type}/{r.ResourceId} does not exist.");
            if (current.Deleted) throw FhirException.Gone($"{current.Key} was deleted (version {current.VersionId}, {current.LastUpdated:O}).");
            if (r.IfMatch is { } expected && expected != current.VersionId)
                throw FhirException.PreconditionFailed($"If-Match: W/\"{expected}\" is not the current version of {current.Key} (current is W/\"{current.VersionId}\").");
            var patched = Patcher.ApplyEntry(current.Json!, r.Patch);
            Patcher.RequireSameIdentity(patched, r.Type, r.ResourceId);
            await check.Check(patched, ct); // the validate stage saw the patch, not its result
            try
            {
                var (saved, _) = await store.Update(patched, current.VersionId, call.Context.Writer with { Interaction = "patch" }, ct);
                return new VersionResult(ResultKind.Updated, saved);
            }
            catch (FhirException e) when (e.Kind == ErrorKind.PreconditionFailed && r.IfMatch is null && attempt < ResourceStore.MaxRetries)
            {
                await ResourceStore.Backoff(attempt, ct);
            }
        }
    }
}

/// <summary>delete: a tombstone version; deleting a deleted resource does nothing.</summary>
public sealed class DeleteHandler(ResourceStore store) : Handler<DeleteRequest>
{
    protected override async Task<InteractionResult> Handle(DeleteRequest r, InteractionCall call, CancellationToken ct)
    {
        ResourceTypes.Require(r.Type);
        var tombstone = await store.Delete(r.Type, r.ResourceId, r.IfMatch, call.Context.Writer, ct);
        return new DeleteResult(tombstone is null ? ResultKind.NoOp : ResultKind.Deleted, tombstone);
    }
}

/// <summary>DELETE Type?criteria: deletes the match (several only when Fhir:AllowMultipleDelete is on).</summary>
public sealed class ConditionalDeleteHandler(TransactionProcessor processor) : Handler<ConditionalDeleteRequest>
{
    protected override async Task<InteractionResult> Handle(ConditionalDeleteRequest r, InteractionCall call, CancellationToken ct)
    {
        var outcome = await Single.Outcome(processor, EntryRequest.Rest(Bundle.HTTPVerb.DELETE, $"{r.Type}?{r.Criteria}", null, policy: r.MatchPolicy), call, ct);
        return new DeleteResult(outcome.Kind, outcome.Version);
    }
}

/// <summary>A single REST interaction run as a one-entry transaction (conditional operations share its locking).</summary>
internal static class Single
{
    public static async Task<EntryOutcome> Outcome(TransactionProcessor processor, EntryRequest entry, InteractionCall call, CancellationToken ct)
    {
        ResourceTypes.Require(entry.Target.Type);
        // This call passed the pipeline's stages itself: the entry needs no gate of its own.
        var outcome = (await processor.Transaction([entry], call.Context.Writer, call.Context.BaseUrl, IEntryGate.Passed, ct))[0];
        return outcome.Error is { } error ? throw error : outcome;
    }

    public static async Task<InteractionResult> Run(TransactionProcessor processor, EntryRequest entry, InteractionCall call, CancellationToken ct)
    {
        var outcome = await Outcome(processor, entry, call, ct);
        return new VersionResult(outcome.Kind, outcome.Version!);
    }
}

using Interop.Fhir.Errors;
using Interop.Fhir.Model;
using Interop.Fhir.Storage;

namespace Interop.Fhir.Pipeline.Handlers;

/// <summary>read and vread: the current or a given version; 404 when there is none, 410 when it is deleted (404 to an institution the policy does not let see it).</summary>
public sealed class ReadHandler(ResourceStore store) : Handler<ReadRequest>
{
    protected override async Task<InteractionResult> Handle(ReadRequest r, InteractionCall call, CancellationToken ct)
    {
        ResourceTypes.Require(r.Type);
        StoredVersion? current = null;
        if (r.Version is null && r.Policy is { } policy)
        {
            (current, var visible) = await store.ReadCurrent(r.Type, r.ResourceId, policy, ct);
            if (current is { Deleted: false } && !visible) throw FhirException.Forbidden(policy.Refusal($"{r.Type}/{r.ResourceId}"));
            // A deletion the caller's institution did not make is answered as a resource that is not there: a 410 would
            // tell an institution that the record existed, and when it was deleted.
            if (current is { Deleted: true } && !visible) throw FhirException.NotFound($"{r.Type}/{r.ResourceId} does not exist.");
        }
        var found = r.Version is { } version
            ? await store.ReadVersion(r.Type, r.ResourceId, version, ct) ?? throw FhirException.NotFound($"{r.Type}/{r.ResourceId} has no version {version}.")
            : current ?? await store.ReadCurrent(r.Type, r.ResourceId, ct) ?? throw FhirException.NotFound($"{r.Type}/{r.ResourceId} does not exist.");
        if (found.Deleted) throw FhirException.Gone($"{found.Key} was deleted (version {found.VersionId}, {found.LastUpdated:O}).");
        return new VersionResult(ResultKind.Ok, found);
    }
}

/// <summary>history-instance, -type and -system: keyset pages bounded by a snapshot instant.</summary>
public sealed class HistoryHandler(ResourceStore store) : Handler<HistoryRequest>
{
    protected override async Task<InteractionResult> Handle(HistoryRequest r, InteractionCall call, CancellationToken ct)
    {
        var q = r.Query;
        if (q.Type is { } type) ResourceTypes.Require(type);
        if (q.Type is { } t && q.Id is { } id && await store.ReadCurrent(t, id, ct) is null)
            throw FhirException.NotFound($"{t}/{id} does not exist.");
        return new HistoryOutcome(q, await store.History(q, ct));
    }
}

using Interop.Fhir.Storage;

namespace Interop.Fhir.Pipeline.Handlers;

/// <summary>
/// $changes: the change feed from a position, for subscribers, exports and replicas; for an institution, only the
/// changes the access policy lets it see (Storage/ChangeFeedVisible).
/// </summary>
public sealed class ChangesHandler(ChangeFeed feed) : Handler<ChangesRequest>
{
    protected override async Task<InteractionResult> Handle(ChangesRequest r, InteractionCall call, CancellationToken ct) =>
        r.Policy is { } policy
            ? new ChangesOutcome(await feed.Read(r.After, r.Count, policy, ct), Filtered: true)
            : new ChangesOutcome(await feed.Read(r.After, r.Count, ct));
}

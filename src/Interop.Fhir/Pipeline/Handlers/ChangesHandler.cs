using Interop.Fhir.Storage;

namespace Interop.Fhir.Pipeline.Handlers;

/// <summary>$changes: the change feed from a position, for subscribers, exports and replicas.</summary>
public sealed class ChangesHandler(ChangeFeed feed) : Handler<ChangesRequest>
{
    protected override async Task<InteractionResult> Handle(ChangesRequest r, InteractionCall call, CancellationToken ct) =>
        new ChangesOutcome(await feed.Read(r.After, r.Count, ct));
}

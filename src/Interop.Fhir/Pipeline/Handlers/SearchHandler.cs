using Interop.Fhir.Search;

namespace Interop.Fhir.Pipeline.Handlers;

/// <summary>
/// search-type, search-system and compartment search. The query arrives parsed and typed, after the authorise
/// and validate behaviours have seen it (and may have added criteria); the search service rewrites and compiles it.
/// </summary>
public sealed class SearchHandler(SearchService search) : Handler<SearchRequest>
{
    protected override async Task<InteractionResult> Handle(SearchRequest r, InteractionCall call, CancellationToken ct) =>
        new SearchOutcome(r.Query, await search.Search(r.Query, call.Context.BaseUrl, r.CountOnly, ct));
}

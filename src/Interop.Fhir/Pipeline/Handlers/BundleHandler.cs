using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using Interop.Fhir.Formats;
using Interop.Fhir.Model;
using Interop.Fhir.Search;
using Interop.Fhir.Transactions;

namespace Interop.Fhir.Pipeline.Handlers;

/// <summary>
/// transaction and batch. The write entries run in the transaction processor, each passing the pipeline's
/// stages through the entry gate; the read entries (GET) run after the writes as nested reads and searches,
/// through the whole pipeline like any other read.
/// </summary>
public sealed class BundleHandler(TransactionProcessor processor, Storage.SearchParamCatalog searchParams) : Handler<BundleRequest>
{
    protected override async Task<InteractionResult> Handle(BundleRequest r, InteractionCall call, CancellationToken ct)
    {
        var writes = r.Entries.Where(e => e.Method != Bundle.HTTPVerb.GET).ToList();
        var gate = call.Pipeline.Entries(call);
        var context = call.Context;
        var outcomes = writes.Count == 0 ? []
            : r.Atomic ? await processor.Transaction(writes, context.Writer, context.BaseUrl, gate, ct)
            : await processor.Batch(writes, context.Writer, context.BaseUrl, gate, ct);
        foreach (var e in r.Entries.Where(e => e.Method == Bundle.HTTPVerb.GET))
        {
            try { outcomes.Add(await Read(e, call, ct)); }
            catch (FhirException x) { outcomes.Add(new EntryOutcome(e.Index, ResultKind.Ok, Error: x)); }
        }
        return new BundleOutcome(r.Atomic, outcomes.OrderBy(o => o.Index).ToList());
    }

    private async Task<EntryOutcome> Read(EntryRequest e, InteractionCall call, CancellationToken ct)
    {
        var (type, id, query, version) = e.Target;
        if (id is not null)
        {
            var read = (VersionResult)await call.Nested(new ReadRequest(type, id, version), ct);
            return new EntryOutcome(e.Index, ResultKind.Ok, read.Version, FhirSerialization.ParseStored(read.Version.Json!));
        }
        var parsed = SearchQueryParser.Parse([type], ConditionalMatcher.Parse(query ?? ""), strict: false, 50, 1000, searchParams.Current);
        var found = (SearchOutcome)await call.Nested(new SearchRequest(parsed), ct);
        var bundle = new Bundle { Type = Bundle.BundleType.Searchset, Total = found.Result.Total };
        foreach (var hit in found.Result.Hits)
            bundle.Entry.Add(new Bundle.EntryComponent { FullUrl = $"{call.Context.BaseUrl}/{hit.Version.Key}", Resource = FhirSerialization.ParseStored(hit.Version.Json!) });
        return new EntryOutcome(e.Index, ResultKind.Ok, Resource: bundle);
    }
}

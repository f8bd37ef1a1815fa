using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using Interop.Fhir.Formats;
using Interop.Fhir.Model;
using Interop.Fhir.Patch;
using Interop.Fhir.Search;
using Interop.Fhir.Storage;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Logging;

namespace Interop.Fhir.Transactions;

/// <summary>
/// The writes of transactions (all or nothing, one database transaction) and batches (each entry on its own),
/// and the conditional create/update/delete that single REST calls route through here too. (GET entries are
/// reads: the bundle handler sends them through the pipeline after the commit.)
/// Order within a transaction: DELETE, POST, PUT, PATCH. urn:uuid/urn:oid fullUrls and
/// conditional references are replaced by the assigned or matched ids in every reference of every entry.
/// </summary>
public sealed class TransactionProcessor(
    ResourceStore store, ConditionalMatcher matcher, ConditionalLocks criteriaLocks,
    StorageOptions storage, IOptions<TransactionOptions> options, ILogger<TransactionProcessor> log, IResourceCheck check, WriteRules rules)
{
    /// <summary>Whether a workflow rule concerns writes of this type: single REST writes of it take this path too.</summary>
    public bool Governed(string type) => rules.Govern(type);

    private bool AllowMultipleDelete => options.Value.AllowMultipleDelete;
    private const int MaxAttempts = 10;

    public async Task<List<EntryOutcome>> Transaction(IReadOnlyList<EntryRequest> entries, WriteContext context, string baseUrl, IEntryGate gate, CancellationToken ct)
    {
        if (entries.Count == 0) return [];
        if (entries.FirstOrDefault(e => e.Method is Bundle.HTTPVerb.HEAD) is { } unsupported)
            throw FhirException.NotSupported(ErrorKind.NotSupported, $"Bundle {unsupported.Label}: {unsupported.Method} is not supported inside a bundle.");
        if (entries.Any(e => e.Method is Bundle.HTTPVerb.GET))
            throw new ArgumentException("GET entries are reads: the bundle handler sends them through the pipeline.", nameof(entries));
        // Every entry passes the pipeline's authorise and validate stages before anything is read or locked.
        foreach (var e in entries) await Entry(e, () => gate.Admit(e, ct), e.Index);
        // Identical conditional requests queue in memory first, then (across processes) on an advisory lock.
        var criteria = entries.Select(LockKey).OfType<string>().ToList();
        await using var queued = await criteriaLocks.Acquire(criteria, TimeSpan.FromSeconds(storage.LockTimeoutSeconds), ct);
        List<EntryOutcome?> outcomes = [.. new EntryOutcome?[entries.Max(e => e.Index) + 1]];
        for (var attempt = 1; ; attempt++)
        {
            // Each attempt works on fresh copies: ids and references are rewritten in place.
            var copies = entries.Select(e => e with { Resource = (Resource?)e.Resource?.DeepCopy() }).ToList();
            try
            {
                await using var unit = await store.BeginUnit(ct);
                await unit.Lock(UnitOfWork.CriteriaLocks, criteria, ct);
                outcomes = await TransactionOnce(copies, unit, context, baseUrl, ct);
                break;
            }
            catch (Exception e) when (attempt < MaxAttempts && (DatabaseErrors.IsRetryable(e) || ResourceStore.IsVersionCollision(e) && entries.All(x => x.IfMatch is null)))
            {
                await Task.Delay(Random.Shared.Next(1, 10 * attempt), ct);
            }
            catch (Exception e) when (ResourceStore.IsVersionCollision(e))
            {
                // With If-Match the client named the version it expects: another writer won, so 412 as for a plain update.
                if (entries.Any(x => x.IfMatch is not null))
                    throw FhirException.PreconditionFailed("A resource was changed by another request at the same time (If-Match); nothing was stored.");
                throw FhirException.Busy("A resource in the transaction was changed by other requests at the same time; nothing was stored. Retry.");
            }
        }
        var result = entries.Select(e => outcomes[e.Index]!).ToList();
        foreach (var (e, outcome) in entries.Zip(result)) await gate.Complete(e, outcome, ct);
        return result;
    }

    /// <summary>
    /// Each entry as its own transaction; every failure, including one the database reports, becomes that entry's
    /// status and OperationOutcome, and the other entries go on.
    /// </summary>
    public async Task<List<EntryOutcome>> Batch(IReadOnlyList<EntryRequest> entries, WriteContext context, string baseUrl, IEntryGate gate, CancellationToken ct)
    {
        var outcomes = new List<EntryOutcome>();
        foreach (var entry in entries)
        {
            try
            {
                outcomes.Add((await Transaction([entry], context, baseUrl, gate, ct))[0]);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                var failure = e as FhirException ?? DatabaseErrors.Classify(e);
                if (failure is null)
                {
                    log.LogError("Batch {Entry} failed unexpectedly: {Error}\n{StackTrace}", entry.Label,
                        DatabaseErrors.Find<Npgsql.NpgsqlException>(e) is null ? e.Message : DatabaseErrors.Describe(e), e.StackTrace);
                    failure = FhirException.Of(ErrorKind.Internal, OperationOutcome.IssueType.Exception, $"Bundle {entry.Label} failed unexpectedly; the other entries were processed.");
                }
                var outcome = new EntryOutcome(entry.Index, ResultKind.Ok, Error: failure);
                outcomes.Add(outcome);
                await gate.Complete(entry, outcome, ct);
            }
        }
        return outcomes;
    }

    // "Type/id" of an entry's target, or null (no id, or a URL the entry's own processing will refuse with its label).
    private static string? NamedKey(EntryRequest e)
    {
        try { return e.Target is { Id: { } id } t ? $"{t.Type}/{id}" : null; }
        catch (FhirException) { return null; }
    }

    private static string? LockKey(EntryRequest e)
    {
        string type;
        string? id, query;
        try { (type, id, query, _) = e.Target; }
        catch (FhirException) { return null; }
        if (e.Method == Bundle.HTTPVerb.POST && !string.IsNullOrEmpty(e.IfNoneExist)) return ConditionalMatcher.LockKey(type, e.IfNoneExist);
        if (e.Method is Bundle.HTTPVerb.PUT or Bundle.HTTPVerb.DELETE && id is null && query is not null) return ConditionalMatcher.LockKey(type, query);
        return null;
    }

    /// <summary>Resolves, checks and writes every non-GET entry in <paramref name="unit"/>, then commits it.</summary>
    private async Task<List<EntryOutcome?>> TransactionOnce(List<EntryRequest> entries, UnitOfWork unit, WriteContext context, string baseUrl, CancellationToken ct)
    {
        var outcomes = new EntryOutcome?[entries.Max(e => e.Index) + 1]; // batch entries keep their bundle index
        var ids = new Dictionary<string, string>(StringComparer.Ordinal); // fullUrl -> Type/id
        var writes = new List<(EntryRequest Entry, StoredVersion? Previous, string Method)>();
        var deletes = new List<(EntryRequest Entry, StoredVersion Current)>();
        // Resources named by id are locked before their current versions are read, so that concurrent transactions
        // on them queue (in one sorted order) instead of reading versions that are stale by the time they write.
        var named = entries.Where(e => e.Method is not Bundle.HTTPVerb.GET and not Bundle.HTTPVerb.POST)
            .Select(NamedKey).OfType<string>().ToList();
        if (named.Count > 1) await unit.Lock(UnitOfWork.KeyLocks, named, ct);

        foreach (var e in entries.Where(e => e.Method == Bundle.HTTPVerb.DELETE))
            await Entry(e, async () =>
            {
                outcomes[e.Index] = new EntryOutcome(e.Index, ResultKind.NoOp);
                foreach (var current in await DeleteTargets(e, baseUrl, unit, ct))
                    if (current is { Deleted: false }) deletes.Add((e, current));
            }, e.Index);

        foreach (var e in entries.Where(e => e.Method == Bundle.HTTPVerb.POST))
            await Entry(e, async () =>
            {
                var (type, _, _, _) = e.Target;
                RequireType(e, type);
                if (!string.IsNullOrEmpty(e.IfNoneExist))
                {
                    var matches = await matcher.Match(type, e.IfNoneExist, baseUrl, unit, ct, policy: e.Policy?.Access);
                    if (matches.Count > 1) throw FhirException.PreconditionFailed($"If-None-Exist '{e.IfNoneExist}' matches more than one {type}.");
                    if (matches.Count == 1)
                    {
                        if (e.FullUrl is not null) ids[e.FullUrl] = matches[0].Key;
                        outcomes[e.Index] = new EntryOutcome(e.Index, ResultKind.MatchedExisting, matches[0]);
                        return;
                    }
                    // No match it may see: a create, held to the rule for creates (a plain create was, at the authorise stage).
                    if (e.Policy is { } policy) await policy.Creating(e.Resource!, unit, ct);
                }
                e.Resource!.Id = ResourceStore.NewId();
                if (e.FullUrl is not null) ids[e.FullUrl] = $"{type}/{e.Resource.Id}";
                writes.Add((e, null, "POST"));
            }, e.Index);

        foreach (var e in entries.Where(e => e.Method == Bundle.HTTPVerb.PUT))
            await Entry(e, async () =>
            {
                var (type, id, query, _) = e.Target;
                RequireType(e, type);
                var conditional = id is null;
                if (id is null)
                {
                    if (query is null) throw FhirException.BadRequest("A PUT needs Type/id or Type?criteria in its URL.");
                    var matches = await matcher.Match(type, query, baseUrl, unit, ct, policy: e.Policy?.Access);
                    if (matches.Count > 1) throw FhirException.PreconditionFailed($"Conditional update '{e.Url}' matches more than one {type}.");
                    id = matches.Count == 1 ? matches[0].Id : e.Resource!.Id ?? ResourceStore.NewId();
                    if (matches.Count == 1 && e.Resource!.Id is { } bodyId && bodyId != id)
                        throw FhirException.BadRequest($"The id in the body ('{bodyId}') is not the id of the resource the criteria match ('{id}').", $"{type}.id");
                }
                if (e.Resource!.Id is { } given && given != id)
                    throw FhirException.BadRequest($"The id in the body ('{given}') does not match the id in the URL ('{id}').", $"{type}.id");
                if (!ResourceStore.IsValidId(id)) throw FhirException.BadRequest($"'{id}' is not a valid resource id ([A-Za-z0-9-.]{{1,64}}).", $"{type}.id");
                e.Resource.Id = id;
                var previous = await store.ReadCurrent(type, id, ct, unit);
                // What the criteria chose is known only now: the match it updates must be changeable, a create creatable
                // (an id given in the body with no match is a plain update of that id, with the same rule).
                if (conditional && e.Policy is { } policy)
                    await (previous is { Deleted: false } ? policy.Changing(previous, unit, ct) : policy.Creating(e.Resource, unit, ct));
                CheckIfMatch(e, previous, type, id);
                if (e.FullUrl is not null) ids[e.FullUrl] = $"{type}/{id}";
                writes.Add((e, previous, "PUT"));
            }, e.Index);

        // PATCH (with PUT, after POST): computed on the current version, stored on top of it in this transaction.
        foreach (var e in entries.Where(e => e.Method == Bundle.HTTPVerb.PATCH))
            await Entry(e, async () =>
            {
                var (type, id, query, _) = e.Target;
                StoredVersion previous;
                if (id is not null)
                {
                    previous = await store.ReadCurrent(type, id, ct, unit) ?? throw FhirException.NotFound($"{type}/{id} does not exist.");
                    if (previous.Deleted) throw FhirException.Gone($"{type}/{id} was deleted.");
                }
                else
                {
                    if (query is null) throw FhirException.BadRequest("A PATCH needs Type/id or Type?criteria in its URL.");
                    var matches = await matcher.Match(type, query, baseUrl, unit, ct, policy: e.Policy?.Access); // current, live versions
                    if (matches.Count == 0) throw FhirException.NotFound($"Conditional patch '{e.Url}' matches no {type}.");
                    if (matches.Count > 1) throw FhirException.PreconditionFailed($"Conditional patch '{e.Url}' matches more than one {type}.");
                    previous = matches[0];
                    id = previous.Id;
                    if (e.Policy is { } policy) await policy.Changing(previous, unit, ct);
                }
                CheckIfMatch(e, previous, type, id);
                var patched = Patcher.ApplyEntry(previous.Json!, e.Resource);
                Patcher.RequireSameIdentity(patched, type, id);
                await check.Check(patched, ct); // the validate stage saw the patch, not its result
                if (e.FullUrl is not null) ids[e.FullUrl] = $"{type}/{id}";
                writes.Add((e with { Resource = patched }, previous, "PATCH"));
            }, e.Index);

        foreach (var (e, _, _) in writes)
            await Entry(e, () => RewriteReferences(e.Resource!, ids, baseUrl, unit, e.Policy?.Access, ct), e.Index);

        // The group's workflow rules, on the resolved resources and the versions they replace, seeing the whole transaction.
        if (writes.Any(w => rules.Govern(w.Entry.Resource!.TypeName)))
        {
            var pending = new Dictionary<string, Resource?>(StringComparer.Ordinal);
            foreach (var (_, current) in deletes) pending[current.Key] = null;
            foreach (var (e, _, _) in writes) pending[$"{e.Resource!.TypeName}/{e.Resource.Id}"] = e.Resource;
            foreach (var (e, previous, _) in writes)
                await Entry(e, () => rules.Check(new RuleWrite(e.Resource!, previous is { Deleted: false } ? previous : null, context, unit, baseUrl, pending), ct), e.Index);
        }

        // Rows are written only under advisory locks on their keys, taken in one sorted order: two transactions that
        // touch the same resources in different orders queue instead of deadlocking. (Keys locked above are held
        // already.) A version read before its lock that is no longer current collides on the version row, and the
        // caller retries.
        // A POST's fresh id is nobody else's to write: only resources that exist or that the client named are locked.
        var keys = writes.Where(w => w.Method != "POST").Select(w => $"{w.Entry.Resource!.TypeName}/{w.Entry.Resource.Id}")
            .Concat(deletes.Select(d => d.Current.Key)).ToList();
        if (keys.Count > 1) await unit.Lock(UnitOfWork.KeyLocks, keys, ct);
        await using var batch = store.Begin(unit);
        foreach (var (e, current) in deletes)
            await Entry(e, () => { outcomes[e.Index] = new EntryOutcome(e.Index, ResultKind.Deleted, batch.Tombstone(current, context)); return Task.CompletedTask; }, e.Index);
        foreach (var (e, previous, method) in writes)
            await Entry(e, () =>
            {
                var saved = batch.Put(e.Resource!, previous, method, context);
                outcomes[e.Index] = new EntryOutcome(e.Index, previous is null || previous.Deleted ? ResultKind.Created : ResultKind.Updated, saved);
                return Task.CompletedTask;
            }, e.Index);
        if (!batch.IsEmpty) await batch.Commit(ct);
        await unit.Commit(ct);
        await store.Committed(writes.Count + deletes.Count, ct);
        return [.. outcomes];
    }

    private async Task<IReadOnlyList<StoredVersion>> DeleteTargets(EntryRequest e, string baseUrl, UnitOfWork unit, CancellationToken ct)
    {
        var (type, id, query, _) = e.Target;
        if (id is not null)
        {
            var current = await store.ReadCurrent(type, id, ct, unit) ?? throw FhirException.NotFound($"{type}/{id} does not exist.");
            CheckIfMatch(e, current, type, id);
            return [current];
        }
        if (query is null) throw FhirException.BadRequest("A DELETE needs Type/id or Type?criteria in its URL.");
        var matches = await matcher.Match(type, query, baseUrl, unit, ct, limit: AllowMultipleDelete ? 1000 : 1, policy: e.Policy?.Access);
        if (matches.Count > 1 && !AllowMultipleDelete)
            throw FhirException.PreconditionFailed($"Conditional delete '{e.Url}' matches more than one {type}; deleting several is switched off (Fhir:AllowMultipleDelete).");
        if (matches.Count > 1000) throw FhirException.PreconditionFailed($"Conditional delete '{e.Url}' matches more than 1000 resources.");
        // All or nothing: one visible match the caller may not change refuses the whole delete.
        if (e.Policy is { } policy)
            foreach (var match in matches) await policy.Changing(match, unit, ct);
        return matches;
    }

    private static void RequireType(EntryRequest e, string type)
    {
        if (e.Resource!.TypeName != type)
            throw FhirException.BadRequest($"The resource is a {e.Resource.TypeName} but request.url names {type}.", "resourceType");
    }

    private static void CheckIfMatch(EntryRequest e, StoredVersion? current, string type, string id)
    {
        if (e.IfMatch is not { } expected) return;
        if (current is null || current.VersionId != expected)
            throw FhirException.PreconditionFailed($"If-Match W/\"{expected}\" is not the current version of {type}/{id}" + (current is null ? " (it does not exist)." : $" (current is W/\"{current.VersionId}\")."));
    }

    /// <summary>Replaces fullUrl references by the assigned ids and resolves conditional references (under the caller's access policy, if any).</summary>
    private async Task RewriteReferences(Resource resource, Dictionary<string, string> ids, string baseUrl, UnitOfWork unit, InstitutionAccess? policy, CancellationToken ct)
    {
        foreach (var reference in References(resource))
        {
            var value = reference.Reference;
            if (value is null || value.StartsWith('#')) continue;
            if (ids.TryGetValue(value, out var assigned)) { reference.Reference = assigned; continue; }
            var q = value.IndexOf('?');
            if (q > 0 && Model.ResourceTypes.All.Contains(value[..q]))
            {
                var matches = await matcher.Match(value[..q], value[(q + 1)..], baseUrl, unit, ct, policy: policy);
                if (matches.Count != 1)
                    throw FhirException.PreconditionFailed($"Conditional reference '{value}' matches {(matches.Count == 0 ? "no" : "more than one")} resource; it must match exactly one.");
                reference.Reference = matches[0].Key;
                continue;
            }
            if (value.StartsWith("urn:uuid:", StringComparison.Ordinal) || value.StartsWith("urn:oid:", StringComparison.Ordinal))
                throw FhirException.BadRequest($"Reference '{value}' names no entry of this bundle.");
        }
    }

    private static IEnumerable<ResourceReference> References(Base node)
    {
        foreach (var (_, value) in node.EnumerateElements())
        {
            foreach (var child in value switch { Base one => [one], IEnumerable<Base> many => many, _ => [] })
            {
                if (child is ResourceReference r) yield return r;
                foreach (var nested in References(child)) yield return nested;
            }
        }
    }

    /// <summary>Runs one entry's step; a failure names the entry (index and fullUrl).</summary>
    private static async Task Entry(EntryRequest e, Func<Task> step, int index)
    {
        try
        {
            await step();
        }
        catch (FhirException x) when (!e.Standalone)
        {
            var outcome = new OperationOutcome();
            foreach (var issue in x.Outcome.Issue)
            {
                var copy = (OperationOutcome.IssueComponent)issue.DeepCopy();
                copy.Diagnostics = $"Bundle {e.Label}: {issue.Diagnostics}";
                copy.Expression = issue.Expression.Any() ? issue.Expression.Select(ex => $"Bundle.entry[{index}].resource.{ex}").ToList() : [$"Bundle.entry[{index}]"];
                outcome.Issue.Add(copy);
            }
            throw new FhirException(x.Kind, outcome) { RetryAfter = x.RetryAfter };
        }
    }
}

public sealed class TransactionOptions
{
    /// <summary>Whether a conditional delete may delete several resources (otherwise 412).</summary>
    public bool AllowMultipleDelete { get; set; }
}

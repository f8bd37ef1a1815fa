using Interop.Fhir.Indexing;
using Hl7.Fhir.Model;
using Interop.Fhir.Formats;
using Marten;

namespace Interop.Fhir.Storage;

/// <summary>
/// A unit of work: new versions (their history row, current row and index rows) queued into one Marten session
/// and committed as one database transaction in one round trip; the index rows of all its resources go in one
/// statement (<see cref="IndexQueue"/>). A transaction bundle is one batch; a
/// single create/update/delete is a batch of one.
/// </summary>
/// <param name="known">The server's search parameters when the batch began (with those defined at run time).</param>
public sealed class WriteBatch(IDocumentSession session, SearchParams known) : IAsyncDisposable
{
    private readonly HashSet<string> _keys = [];
    private readonly List<ResourceChanged> _changes = [];
    private readonly IndexQueue _index = new(); // the batch's index rows: one statement at commit
    private short? _lane; // the access log's lane of this transaction (rented: given back when the batch is disposed)

    /// <summary>Queues a new version of <paramref name="resource"/> (version = previous + 1, or 1).</summary>
    public StoredVersion Put(Resource resource, StoredVersion? previous, string method, WriteContext context)
    {
        var type = resource.TypeName;
        var key = $"{type}/{resource.Id}";
        if (!_keys.Add(key)) throw Errors.FhirException.BadRequest($"{key} is written twice in one transaction.");
        var version = (previous?.VersionId ?? 0) + 1;
        var now = Clock.Now();
        Stamp(resource, version, now, context);
        var json = FhirSerialization.ToJson(resource);
        InputGuard.CheckStored(resource, json);
        var id = resource.Id!; // assigned or checked by every caller before it gets here
        session.Insert(new ResourceVersionDoc
        {
            Id = $"{key}/{version}", Key = key, ResourceType = type, ResourceId = id,
            VersionId = version, LastUpdated = now, Method = method, Writer = context.Writer, Institution = context.Institution, Json = json,
        });
        var current = new ResourceDoc
        {
            Id = key, Rid = CompactKeys.Rid(key), ResourceType = type, ResourceId = id, VersionId = version, LastUpdated = now, Writer = context.Writer, Institution = context.Institution, Json = json,
        };
        if (previous is null) session.Insert(current); else session.Store(current);
        _index.Replace(key, type, IndexExtractor.Extract(resource, json, known), existed: previous is not null, resource);
        Changed(new ResourceChanged(key, version, method, context.Writer), type, json, context);
        return new StoredVersion(type, id, version, now, false, method, json);
    }

    /// <summary>Queues a deletion (a tombstone version) of <paramref name="current"/>.</summary>
    public StoredVersion Tombstone(StoredVersion current, WriteContext context)
    {
        if (!_keys.Add(current.Key)) throw Errors.FhirException.BadRequest($"{current.Key} is written twice in one transaction.");
        var version = current.VersionId + 1;
        var now = Clock.Now();
        session.Insert(new ResourceVersionDoc
        {
            Id = $"{current.Key}/{version}", Key = current.Key, ResourceType = current.ResourceType, ResourceId = current.Id,
            VersionId = version, LastUpdated = now, Deleted = true, Method = "DELETE", Writer = context.Writer,
        });
        session.Store(new ResourceDoc
        {
            Id = current.Key, Rid = CompactKeys.Rid(current.Key), ResourceType = current.ResourceType, ResourceId = current.Id, VersionId = version,
            LastUpdated = now, Deleted = true, Writer = context.Writer, Institution = context.Institution,
        });
        _index.Replace(current.Key, current.ResourceType, rows: null, existed: true);
        Changed(new ResourceChanged(current.Key, version, "DELETE", context.Writer), current.ResourceType, current.Json, context);
        return new StoredVersion(current.ResourceType, current.Id, version, now, true, "DELETE", null);
    }

    // The change goes to the change feed at commit, and its access-log record into the same transaction now.
    private void Changed(ResourceChanged change, string type, string? json, WriteContext context)
    {
        _changes.Add(change);
        if (context.Audit is { } audit) AuditRows.Queue(session, audit.Changed(change, type, json, context.Interaction), AuditRows.LaneOf(_lane ??= AuditRows.RentLane()));
    }

    public bool IsEmpty => _keys.Count == 0;

    /// <summary>
    /// Commits the batch. Its changes go to the change feed as one event stream of their own (one append for the
    /// whole transaction, in the same statement batch as the documents; no stream is shared, so no two writers
    /// contend on one).
    /// </summary>
    public Task Commit(CancellationToken ct)
    {
        _index.Flush(session);
        if (_changes.Count > 0) session.Events.Append("tx/" + Guid.CreateVersion7(), _changes.ToArray<object>());
        return session.SaveChangesAsync(ct);
    }

    public ValueTask DisposeAsync()
    {
        // The transaction has committed or rolled back by now (or never began): the lane's head is free again.
        if (_lane is { } lane) AuditRows.ReturnLane(lane);
        _lane = null;
        return session.DisposeAsync();
    }

    private static void Stamp(Resource resource, int version, DateTimeOffset now, WriteContext context)
    {
        resource.Meta ??= new Meta();
        resource.Meta.VersionId = version.ToString();
        resource.Meta.LastUpdated = now;
        resource.Meta.Tag.RemoveAll(t => t.System == WriteContext.TagSystem);
        resource.Meta.Tag.Add(new Coding(WriteContext.TagSystem, context.Writer));
    }
}

public static class Clock
{
    // PostgreSQL keeps microseconds; FHIR instants are shown to the millisecond. Truncate once so the
    // stored JSON, the columns and the Last-Modified header agree.
    public static DateTimeOffset Now()
    {
        var now = DateTimeOffset.UtcNow;
        return new DateTimeOffset(now.Ticks - now.Ticks % TimeSpan.TicksPerMillisecond, TimeSpan.Zero);
    }
}
